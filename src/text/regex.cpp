#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/error.h"

namespace cascade::text {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match state: the JIT stack must not be shared between threads, and long
// runs of one character class (a 100 KB line of spaces) need more than the default 32 KB.
struct MatchState {
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  MatchState() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~MatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

using MatchData = std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)>;

}  // namespace

Regex::Regex(const std::string& pattern, Syntax syntax, const std::string& where) : where_(where) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (syntax == Syntax::kLiteral) options = PCRE2_UTF | PCRE2_LITERAL;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (!code) {
    throw Error(where + ": regex does not compile at offset " + std::to_string(error_offset) +
                ": " + pcre2_message(error_code));
  }
  auto owned = std::make_shared<Code>();
  owned->code = code;
  owned->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  code_ = std::move(owned);
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const {
  MatchData data(pcre2_match_data_create_from_pattern(code_->code, nullptr),
                 &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  pcre2_match_context* context = match_state().context;
  size_t start = 0;
  while (start < text.size()) {
    // The text was validated once by the caller; re-checking per match would be O(n^2).
    const int rc = pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                               data.get(), context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error(where_ + ": regex match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    size_t begin = ovector[0], end = ovector[1];
    if (end == begin) {
      // Empty matches produce no piece; step over one character and search on.
      size_t next = begin + 1;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) {
        ++next;
      }
      start = next;
      continue;
    }
    matches.emplace_back(begin, end);
    start = end;
  }
}

bool Regex::matches_at_start(std::string_view text) const {
  MatchData data(pcre2_match_data_create_from_pattern(code_->code, nullptr),
                 &pcre2_match_data_free);
  const int rc =
      pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                  PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, data.get(), match_state().context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw Error(where_ + ": regex match failed: " + pcre2_message(rc));
  return true;
}

}  // namespace cascade::text
