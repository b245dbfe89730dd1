#include "text/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "test_paths.h"

namespace cascade {
namespace {

using json = nlohmann::json;

// Where two renders first differ, with a little context on each side, escaped for the log.
std::string describe_difference(const std::string& expected, const std::string& actual) {
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
  auto window = [at](const std::string& s) {
    const size_t begin = at < 20 ? 0 : at - 20;
    return json(s.substr(begin, 60)).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  return "first difference at byte " + std::to_string(at) + " (expected " +
         std::to_string(expected.size()) + " bytes, got " + std::to_string(actual.size()) +
         ")\n  expected ..." + window(expected) + "\n  actual   ..." + window(actual);
}

#define EXPECT_SAME_TEXT(expected, actual)                                                        \
  do {                                                                                            \
    const std::string expected_text = (expected), actual_text = (actual);                         \
    EXPECT_TRUE(expected_text == actual_text) << describe_difference(expected_text, actual_text); \
  } while (0)

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

ChatOptions options(bool add_generation_prompt, std::optional<bool> enable_thinking = {}) {
  ChatOptions o;
  o.add_generation_prompt = add_generation_prompt;
  o.enable_thinking = enable_thinking;
  return o;
}

// --- Golden strings from Hugging Face transformers (tools/make_fixtures.py) ---

TEST(ChatTemplate, MatchesHuggingFaceGoldenStrings) {
  const std::string path = test::fixture("chat/qwen3_chat.jsonl");
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing: tools/make_fixtures.py writes it (HF goldens)";
  // The real Qwen3 tokenizer_config.json, so detection is exercised on the shipped template.
  const ChatTemplate chat = ChatTemplate::load(test::qwen3_tokenizer_dir());
  ASSERT_EQ(chat.family(), ChatTemplate::Family::kQwen3);
  std::string line;
  int cases = 0;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const json row = json::parse(line);
    ChatOptions o = options(row.at("add_generation_prompt").get<bool>());
    if (!row.at("enable_thinking").is_null())
      o.enable_thinking = row["enable_thinking"].get<bool>();
    const std::string label = path + ":" + std::to_string(line_no) + " (" +
                              row.at("name").get<std::string>() +
                              ", add_generation_prompt=" + row["add_generation_prompt"].dump() +
                              ", enable_thinking=" + row["enable_thinking"].dump() + ")";
    SCOPED_TRACE(label);
    const auto messages = parse_chat_messages(row.at("messages").dump(), label);
    EXPECT_SAME_TEXT(row.at("text").get<std::string>(), chat.render(messages, o));
    ++cases;
  }
  EXPECT_GE(cases, 1) << path << " holds no cases";
}

// --- Qwen3, derived by hand from its Jinja source ---

TEST(ChatTemplateQwen3, SystemAndUserWithGenerationPrompt) {
  const auto text = ChatTemplate::qwen3().render({{"system", "Be brief.", {}}, {"user", "Hi", {}}},
                                                 options(true));
  EXPECT_SAME_TEXT(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
      "<|im_start|>assistant\n",
      text);
}

TEST(ChatTemplateQwen3, EnableThinkingFalseAppendsAnEmptyThinkBlock) {
  const std::vector<ChatMessage> messages = {{"user", "Hi", {}}};
  const ChatTemplate chat = ChatTemplate::qwen3();
  EXPECT_SAME_TEXT("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                   chat.render(messages, options(true, false)));
  // true and "not passed" are the same; without a generation prompt nothing is appended.
  EXPECT_SAME_TEXT("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                   chat.render(messages, options(true, true)));
  EXPECT_SAME_TEXT("<|im_start|>user\nHi<|im_end|>\n",
                   chat.render(messages, options(false, false)));
}

TEST(ChatTemplateQwen3, ReasoningIsStrippedBeforeTheLastQueryAndKeptAfterIt) {
  const auto text = ChatTemplate::qwen3().render(
      {{"user", "q1", {}},
       {"assistant", "<think>\nold thoughts\n</think>\n\nanswer1", {}},
       {"user", "q2", {}},
       {"assistant", "<think>\n\nnew thoughts\n\n</think>\n\n\nanswer2", {}}},
      options(false));
  EXPECT_SAME_TEXT(
      "<|im_start|>user\nq1<|im_end|>\n"
      "<|im_start|>assistant\nanswer1<|im_end|>\n"
      "<|im_start|>user\nq2<|im_end|>\n"
      "<|im_start|>assistant\n<think>\nnew thoughts\n</think>\n\nanswer2<|im_end|>\n",
      text);
}

TEST(ChatTemplateQwen3, AssistantAfterLastQueryGetsThinkBlockOnlyWhenLastOrReasoning) {
  // Two assistant turns after the last query: the middle one has no reasoning and is not last,
  // so it is rendered plainly; the last one always gets a (possibly empty) think block.
  const auto text = ChatTemplate::qwen3().render({{"user", "q", {}},
                                                  {"assistant", "partial", {}},
                                                  {"tool", "result", {}},
                                                  {"assistant", "final", {}}},
                                                 options(false));
  EXPECT_SAME_TEXT(
      "<|im_start|>user\nq<|im_end|>\n"
      "<|im_start|>assistant\npartial<|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nresult\n</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n<think>\n\n</think>\n\nfinal<|im_end|>\n",
      text);
}

TEST(ChatTemplateQwen3, ExplicitReasoningContentWinsOverThinkTagsInContent) {
  const auto text = ChatTemplate::qwen3().render(
      {{"user", "q", {}}, {"assistant", "\n\nanswer <think>x</think>", "\nreason\n"}},
      options(false));
  // content is not split (reasoning_content is given); only lstrip('\n') applies to it.
  EXPECT_SAME_TEXT(
      "<|im_start|>user\nq<|im_end|>\n"
      "<|im_start|>assistant\n<think>\nreason\n</think>\n\nanswer <think>x</think><|im_end|>\n",
      text);
}

TEST(ChatTemplateQwen3, UserToolResponseIsNotTheLastQuery) {
  // A user turn wrapped in <tool_response> does not count as a query: the assistant turn
  // before it keeps its reasoning.
  const auto text =
      ChatTemplate::qwen3().render({{"user", "q", {}},
                                    {"assistant", "<think>r</think>calling", {}},
                                    {"user", "<tool_response>42</tool_response>", {}}},
                                   options(true));
  EXPECT_SAME_TEXT(
      "<|im_start|>user\nq<|im_end|>\n"
      "<|im_start|>assistant\n<think>\nr\n</think>\n\ncalling<|im_end|>\n"
      "<|im_start|>user\n<tool_response>42</tool_response><|im_end|>\n"
      "<|im_start|>assistant\n",
      text);
}

TEST(ChatTemplateQwen3, ThinkSplitUsesLastCloseTagAndLastOpenTagBeforeTheFirstClose) {
  // content: after the last </think>; reasoning: before the first </think>, after its last <think>.
  const auto text = ChatTemplate::qwen3().render(
      {{"user", "q", {}}, {"assistant", "<think>a<think>b\n</think>mid</think>\nend", {}}},
      options(false));
  EXPECT_SAME_TEXT(
      "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nb\n</"
      "think>\n\nend<|im_end|>\n",
      text);
}

// --- Qwen2.5 ChatML, derived by hand from its Jinja source ---

TEST(ChatTemplateQwen25, InsertsTheDefaultSystemPrompt) {
  const auto text =
      ChatTemplate::qwen25_chatml().render({{"user", "Hi", {}}}, options(true, false));
  EXPECT_SAME_TEXT(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
      "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
      text);
}

TEST(ChatTemplateQwen25, KeepsAssistantTextVerbatimAndGroupsToolTurns) {
  const auto text = ChatTemplate::qwen25_chatml().render({{"system", "S", {}},
                                                          {"user", "q", {}},
                                                          {"assistant", "<think>r</think>a", {}},
                                                          {"tool", "t1", {}},
                                                          {"tool", "t2", {}}},
                                                         options(false));
  EXPECT_SAME_TEXT(
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
      "<|im_start|>assistant\n<think>r</think>a<|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nt1\n</tool_response>\n<tool_response>\nt2\n"
      "</tool_response><|im_end|>\n",
      text);
}

// --- Loading and detection ---

TEST(ChatTemplateLoad, RecognisesTheTinyCheckpoints) {
  EXPECT_EQ(ChatTemplate::load(test::fixture("models/qwen3-tiny")).family(),
            ChatTemplate::Family::kQwen3);
  EXPECT_EQ(ChatTemplate::load(test::fixture("models/qwen2-tiny")).family(),
            ChatTemplate::Family::kQwen3);
}

TEST(ChatTemplateLoad, RecognisesQwen25ChatMLAndPrefersChatTemplateJinja) {
  const std::string dir = test::temp_dir("qwen25");
  // A stand-in carrying the markers detection relies on (not the full template).
  const json config = {
      {"chat_template",
       "{%- if messages[0]['role'] == 'system' %}{%- else %}{{- '<|im_start|>system\\nYou are "
       "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif "
       "%}{%- if (message.role == \"assistant\" and not message.tool_calls) %}"}};
  std::ofstream(dir + "/tokenizer_config.json") << config.dump();
  EXPECT_EQ(ChatTemplate::load(dir).family(), ChatTemplate::Family::kQwen25ChatML);

  std::ofstream(dir + "/chat_template.jinja") << "{{ messages }}";
  EXPECT_EQ(error_of([&] { ChatTemplate::load(dir); }),
            dir + "/chat_template.jinja: unsupported chat_template (known: Qwen3, Qwen2.5 ChatML)");
}

TEST(ChatTemplateLoad, ErrorsNameTheFileAndField) {
  const std::string dir = test::temp_dir("errors");
  const std::string config = dir + "/tokenizer_config.json";
  EXPECT_EQ(error_of([&] { ChatTemplate::load(dir); }),
            config + ": file not found (needed for the chat template)");

  std::ofstream(config) << R"({"eos_token": "<|im_end|>"})";
  EXPECT_EQ(error_of([&] { ChatTemplate::load(dir); }),
            config + ": field 'chat_template' is missing");

  std::ofstream(config) << R"({"chat_template": 7})";
  EXPECT_EQ(error_of([&] { ChatTemplate::load(dir); }),
            config + ": field 'chat_template' must be a string");

  std::ofstream(config)
      << R"({"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})";
  EXPECT_EQ(error_of([&] { ChatTemplate::load(dir); }),
            config + ": unsupported chat_template (known: Qwen3, Qwen2.5 ChatML)");

  std::ofstream(config) << "{not json";
  EXPECT_TRUE(error_of([&] { ChatTemplate::load(dir); }).starts_with(config + ": not valid JSON"));
}

// --- Errors ---

TEST(ChatTemplateErrors, RenderRefusesEmptyMessagesAndUnknownRoles) {
  const ChatTemplate chat = ChatTemplate::qwen3();
  EXPECT_EQ(error_of([&] { chat.render({}, options(true)); }),
            "chat template: messages must not be empty");
  EXPECT_EQ(error_of([&] {
              chat.render({{"user", "a", {}}, {"bot", "b", {}}}, options(true));
            }),
            "chat template: messages[1]: unknown role 'bot' (expected system, user, assistant or "
            "tool)");
}

TEST(ChatTemplateErrors, ParseNamesTheIndexAndField) {
  auto parse_error = [](const std::string& text) {
    return error_of([&] { parse_chat_messages(text, "req.json"); });
  };
  EXPECT_EQ(parse_error("[]"), "req.json: the messages array is empty");
  EXPECT_EQ(parse_error(R"({"role": "user"})"), "req.json: expected a JSON array of messages");
  EXPECT_EQ(parse_error(R"([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])"),
            "req.json: messages[1]: field 'role' is 'robot', expected system, user, assistant or "
            "tool");
  EXPECT_EQ(parse_error(R"([{"content": "a"}])"), "req.json: messages[0]: field 'role' is missing");
  EXPECT_EQ(parse_error(R"([{"role": "user", "content": ["a"]}])"),
            "req.json: messages[0]: field 'content' must be a string");
  EXPECT_EQ(parse_error(R"([{"role": "user"}])"),
            "req.json: messages[0]: field 'content' is missing");
  EXPECT_EQ(parse_error(R"([{"role": "assistant", "content": "a", "reasoning_content": 1}])"),
            "req.json: messages[0]: field 'reasoning_content' must be a string or null");
  EXPECT_EQ(parse_error(R"([{"role": "user", "content": "q"}, {"role": "assistant", "content": "",
      "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}])"),
            "req.json: messages[1]: field 'tool_calls' is not supported (tools and function "
            "calling are not implemented)");
  EXPECT_TRUE(parse_error("[{").starts_with("req.json: not valid JSON: "));
  EXPECT_EQ(parse_error("[3]"),
            "req.json: messages[0]: expected an object with 'role' and 'content'");
}

TEST(ChatTemplateErrors, ParseKeepsReasoningAndAcceptsEmptyToolCalls) {
  const auto messages = parse_chat_messages(
      R"([{"role": "user", "content": "q"},
          {"role": "assistant", "content": "a", "reasoning_content": "r", "tool_calls": []},
          {"role": "assistant", "content": "b", "reasoning_content": null, "tool_calls": null}])",
      "req.json");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].reasoning_content, std::optional<std::string>("r"));
  EXPECT_FALSE(messages[2].reasoning_content.has_value());
  EXPECT_EQ(messages[2].content, "b");
}

}  // namespace
}  // namespace cascade
