// The smallest composed prompt: a system chunk and two documents, then a question.
// Usage: simple_cascade [MODEL_DIR]
#include <cstdio>

#include "example_common.h"

int main(int argc, char** argv) {
  cascade::EngineConfig config;
  config.enable_cascade_attention = true;
  cascade::LLM llm(example::model_dir(argc, argv), config);

  const cascade::Prompt prompt{
      .chunks = {example::system_chunk(),
                 example::document("The capital of Nebulonia is Crystalton."),
                 example::document("Crystalton is located in Nebulonia. Crystalton was "
                                   "founded in 1412.")},
      .text = example::question("Where is Crystalton located?")};
  cascade::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 64;
  const auto out = llm.generate({prompt}, greedy).at(0);
  std::printf("reasoning: %s\nanswer: %s\n", out.reasoning_content.c_str(), out.content.c_str());
  example::print_registry(llm.stats());
  return 0;
}
