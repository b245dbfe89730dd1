namespace cascade {}
