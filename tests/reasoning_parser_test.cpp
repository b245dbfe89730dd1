#include "text/reasoning_parser.h"

#include <gtest/gtest.h>

namespace cascade {
namespace {

void expect_split(const std::string& text, const std::string& reasoning, const std::string& answer,
                  bool starts_in_reasoning = false) {
  const ReasoningSplit whole = ReasoningParser::split(text, starts_in_reasoning);
  EXPECT_EQ(whole.reasoning, reasoning) << text;
  EXPECT_EQ(whole.answer, answer) << text;
  // Streaming, cut at every byte and in pieces of every size, adds up to the same split.
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    ReasoningParser parser(starts_in_reasoning);
    std::string r, a;
    for (size_t i = 0; i < text.size(); i += piece) {
      const ReasoningSplit d = parser.push(std::string_view(text).substr(i, piece));
      r += d.reasoning;
      a += d.answer;
    }
    const ReasoningSplit d = parser.finish();
    r += d.reasoning;
    a += d.answer;
    EXPECT_EQ(r, reasoning) << "pieces of " << piece << ": " << text;
    EXPECT_EQ(a, answer) << "pieces of " << piece << ": " << text;
  }
}

TEST(ReasoningParser, SplitsQwen3ThinkBlockFromTheAnswer) {
  expect_split(
      "<think>\nCrystalton is in document 2.\n</think>\n\nCrystalton is located in Nebulonia.",
      "Crystalton is in document 2.", "Crystalton is located in Nebulonia.");
}

TEST(ReasoningParser, TextWithoutThinkIsAllAnswer) {
  expect_split("Just an answer.\nWith lines.", "", "Just an answer.\nWith lines.");
  expect_split("<thin is not a tag", "", "<thin is not a tag");
  expect_split("answer mentioning </think> later", "", "answer mentioning </think> later");
  expect_split("", "", "");
}

TEST(ReasoningParser, MissingCloseTagLeavesEverythingInReasoning) {
  expect_split("<think>\nstill thinking when cut off", "still thinking when cut off", "");
  expect_split("<think>", "", "");
}

TEST(ReasoningParser, EmptyThinkBlockAsWithEnableThinkingFalse) {
  expect_split("<think>\n\n</think>\n\nThe answer.", "", "The answer.");
}

TEST(ReasoningParser, PromptEndingInsideAThinkBlock) {
  expect_split("reasoning\n</think>\n\nanswer", "reasoning", "answer", true);
  expect_split("never closed", "never closed", "", true);
}

TEST(ReasoningParser, KeepsInnerNewlinesAndAngleBracketsInReasoning) {
  expect_split("<think>\nline 1\n\nline 2 <b> </thin\n</think>\n\nA\n\nB",
               "line 1\n\nline 2 <b> </thin", "A\n\nB");
}

}  // namespace
}  // namespace cascade
