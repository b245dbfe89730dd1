#include "engine/prompt_composer.h"

#include <string>

#include "base/error.h"

namespace cascade {
namespace {

constexpr const char* kSystemOpen = "<|im_start|>system\n";
constexpr const char* kUserOpen = "<|im_end|>\n<|im_start|>user\n";
constexpr const char* kUserOpenAlone = "<|im_start|>user\n";
constexpr const char* kAssistantOpen = "<|im_end|>\n<|im_start|>assistant\n";
constexpr const char* kEmptyThink = "<think>\n\n</think>\n\n";

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A piece of the prompt as given: text (framed as text, so that the framing tokenizes as
// it would in a plain prompt) or token ids (framing tokens added around them).
struct Piece {
  const std::string* text = nullptr;
  const std::vector<int32_t>* ids = nullptr;
};

std::vector<int32_t> framed(const Piece& piece, const std::string& before, const std::string& after,
                            const Tokenizer& tokenizer) {
  if (piece.text) return tokenizer.encode(before + *piece.text + after);
  std::vector<int32_t> out = before.empty() ? std::vector<int32_t>{} : tokenizer.encode(before);
  out = concat(std::move(out), *piece.ids);
  return after.empty() ? out : concat(std::move(out), tokenizer.encode(after));
}

}  // namespace

void check_token_ids(const std::vector<int32_t>& ids, int vocab, const std::string& what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    check(0 <= ids[i] && ids[i] < vocab, [&] {
      return what + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
             " is outside the vocabulary [0, " + std::to_string(vocab) + ")";
    });
  }
}

ComposedPrompt compose_prompt(const Prompt& prompt, const Tokenizer& tokenizer, int vocab,
                              const ChunkLibrary& library, bool chunks_only,
                              TokenizedTextCache* text_cache) {
  const bool chat = prompt.framing == Prompt::Framing::Chat && !prompt.chunks.empty();
  check(!chat || tokenizer.token_to_id("<|im_start|>") >= 0,
        "prompt framing 'chat' needs a tokenizer with <|im_start|>; use Framing::Raw");

  // Resolve every chunk to (kind, piece).
  struct Resolved {
    ChunkKind kind;
    Piece piece;
    std::shared_ptr<const std::vector<int32_t>> stored;  // a library chunk's tokens
  };
  std::vector<Resolved> chunks;
  bool seen_context = false;
  for (size_t i = 0; i < prompt.chunks.size(); ++i) {
    const Chunk& c = prompt.chunks[i];
    const std::string name = "chunks[" + std::to_string(i) + "]";
    Resolved r{c.kind, {}, nullptr};
    if (!c.id.empty()) {
      const LibraryChunk* stored = library.find(c.id);
      check(stored != nullptr, name + ": unknown chunk id '" + c.id + "' (register it first)");
      r.kind = stored->kind;
      r.stored = stored->tokens;
      r.piece.ids = stored->tokens.get();
    } else if (!c.token_ids.empty()) {
      check_token_ids(c.token_ids, vocab, name + ".token_ids");
      r.piece.ids = &c.token_ids;
    } else {
      check(!c.text.empty(), name + " is empty (give text, token_ids or an id)");
      r.piece.text = &c.text;
    }
    check(r.kind == ChunkKind::Context || !seen_context,
          name + ": a system chunk must come before every context chunk");
    seen_context = seen_context || r.kind == ChunkKind::Context;
    chunks.push_back(r);
  }
  size_t num_system = 0;
  while (num_system < chunks.size() && chunks[num_system].kind == ChunkKind::System) ++num_system;

  ComposedPrompt out;
  const auto add = [&](ChunkKind kind, std::vector<int32_t> tokens) {
    out.chunks.push_back({kind, std::make_shared<const std::vector<int32_t>>(std::move(tokens))});
  };
  if (chat && num_system == 0) add(ChunkKind::System, tokenizer.encode(kUserOpenAlone));
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Resolved& r = chunks[i];
    const bool first_system = chat && i == 0 && num_system > 0;
    const bool last_system = chat && num_system > 0 && i + 1 == num_system;
    if (!first_system && !last_system && r.stored) {
      out.chunks.push_back({r.kind, r.stored});  // shared, not copied
      continue;
    }
    const std::string before = first_system ? kSystemOpen : "";
    const std::string after = last_system ? kUserOpen : "";
    if (r.piece.text && text_cache) {
      out.chunks.push_back({r.kind, text_cache->encode(before + *r.piece.text + after, tokenizer)});
    } else {
      add(r.kind, framed(r.piece, before, after, tokenizer));
    }
    check(!out.chunks.back().tokens->empty(),
          "chunks[" + std::to_string(i) + "] has no tokens after tokenization");
  }

  if (chunks_only) return out;
  Piece own;
  if (!prompt.token_ids.empty()) {
    check_token_ids(prompt.token_ids, vocab, "prompt token_ids");
    own.ids = &prompt.token_ids;
  } else {
    own.text = &prompt.text;
  }
  if (chat) {
    std::string after = kAssistantOpen;
    if (prompt.enable_thinking == false && tokenizer.token_to_id("<think>") >= 0) {
      after += kEmptyThink;
    }
    out.own_tokens = framed(own, "", after, tokenizer);
  } else {
    out.own_tokens = own.text ? tokenizer.encode(*own.text) : *own.ids;
  }
  check(!out.own_tokens.empty(), prompt.chunks.empty()
                                     ? "prompt is empty"
                                     : "prompt text is empty (a raw composed prompt needs text "
                                       "after its chunks)");
  return out;
}

}  // namespace cascade
