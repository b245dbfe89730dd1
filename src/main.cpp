#include "frontend/cli.h"

int main(int argc, char** argv) { return cascade::run_cli(argc, argv); }
