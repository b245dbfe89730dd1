// The same chunks in several orders and subsets: each document's KV is computed once
// (compositional mode), every later arrangement only reuses it.
// Usage: arrangements [MODEL_DIR]
#include <cstdio>
#include <vector>

#include "example_common.h"

int main(int argc, char** argv) {
  cascade::EngineConfig config;
  config.enable_cascade_attention = true;
  config.chunk_mode = cascade::ChunkMode::Compositional;
  cascade::LLM llm(example::model_dir(argc, argv), config);

  const std::vector<cascade::Chunk> docs = {
      example::document("Ilsa Marwen was born in Crystalford. Ilsa Marwen works as an "
                        "astronomer."),
      example::document("Crystalford lies in Zantoria. Crystalford was founded by Maren Surnton."),
      example::document("The birth year of Maren Surnton is 1351. Maren Surnton's favourite "
                        "colour is amber.")};
  // Every arrangement holds the document with the answer (2).
  const std::vector<std::vector<int>> arrangements = {{0, 1, 2}, {2, 1, 0}, {1, 2}, {2, 0}, {2}};
  cascade::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 64;
  for (const auto& order : arrangements) {
    cascade::Prompt prompt{.chunks = {example::system_chunk()},
                           .text = example::question("What is Maren Surnton's favourite colour?")};
    std::printf("documents");
    for (int i : order) {
      prompt.chunks.push_back(docs[static_cast<size_t>(i)]);
      std::printf(" %d", i);
    }
    const auto out = llm.generate({prompt}, greedy).at(0);
    std::printf(": %s   [%d of %d prompt tokens cached]\n", out.content.c_str(),
                out.num_cached_tokens, out.num_prompt_tokens);
  }
  example::print_registry(llm.stats());
  return 0;
}
