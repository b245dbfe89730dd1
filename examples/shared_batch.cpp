// A batch of questions over the same documents, registered ahead with add_chunk and
// referenced by id: the shared chunks are read once per decode step for the whole batch
// (cascade attention).
// Usage: shared_batch [MODEL_DIR]
#include <cstdio>
#include <string>
#include <vector>

#include "example_common.h"

int main(int argc, char** argv) {
  cascade::EngineConfig config;
  config.enable_cascade_attention = true;
  cascade::LLM llm(example::model_dir(argc, argv), config);

  const std::vector<std::string> texts = {
      "The capital of Nebulonia is Crystalton. Nebulonia became independent in 1766.",
      "Crystalton is located in Nebulonia. Crystalton was founded in 1412. Crystalton has a "
      "population of 48200.",
      "Ilsa Marwen was born in Crystalford. Ilsa Marwen works as an astronomer."};
  std::vector<cascade::Chunk> refs = {example::system_chunk()};
  for (const auto& text : texts) {
    const std::string id = llm.add_chunk(example::document(text), {example::system_chunk()});
    std::printf("registered %s…\n", id.substr(0, 16).c_str());
    refs.push_back(cascade::Chunk::ref(id));
  }
  // The tiny model knows the question forms it was trained on (tools/worldgen.py).
  struct Question {
    std::string text, expected;
  };
  const std::vector<Question> questions = {
      {"Where is Crystalton located?", "Crystalton is located in Nebulonia."},
      {"What is the capital of Nebulonia?", "The capital of Nebulonia is Crystalton."},
      {"Where was Ilsa Marwen born?", "Ilsa Marwen was born in Crystalford."},
      {"In which year was Crystalton founded?", "Crystalton was founded in 1412."},
      {"What is the profession of Ilsa Marwen?", "Ilsa Marwen works as an astronomer."},
      {"In which year did Nebulonia become independent?", "Nebulonia became independent in 1766."}};
  std::vector<cascade::Prompt> prompts;
  for (const auto& q : questions) {
    prompts.push_back(cascade::Prompt{.chunks = refs, .text = example::question(q.text)});
  }
  cascade::SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 64;
  const auto outs = llm.generate(prompts, greedy);
  size_t correct = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    std::printf("Q: %s\nA: %s\n", questions[i].text.c_str(), outs[i].content.c_str());
    correct += outs[i].content == questions[i].expected;
  }
  std::printf("%zu of %zu answers exact\n", correct, questions.size());
  example::print_registry(llm.stats());
  return correct == questions.size() ? 0 : 1;
}
