#include "frontend/requests_file.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_error.h"

namespace cascade {
namespace {

using json = nlohmann::json;

template <typename T>
T field(const json& j, const char* name, const std::string& where) {
  try {
    return j.at(name).get<T>();
  } catch (const json::exception& e) {
    throw Error(where + ": field '" + name + "': " + json_error_text(e));
  }
}

FileRequest parse_request(const json& j, const std::string& where, const SamplingParams& defaults) {
  check(j.is_object(), where + ": each line must be a JSON object");
  static const char* const kKnown[] = {"system", "chunks", "prompt", "max_tokens", "temperature",
                                       "top_p",  "top_k",  "seed",   "stop"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    check(known, where + ": unknown field '" + key + "'");
  }
  check(j.contains("prompt"), where + ": field 'prompt' is missing");
  FileRequest r{Prompt{}, defaults};
  r.prompt.text = field<std::string>(j, "prompt", where);
  if (j.contains("system")) {
    r.prompt.chunks.push_back(Chunk::system(field<std::string>(j, "system", where)));
  }
  if (j.contains("chunks")) {
    for (auto& text : field<std::vector<std::string>>(j, "chunks", where)) {
      r.prompt.chunks.push_back(Chunk::context(std::move(text)));
    }
  }
  SamplingParams& s = r.sampling;
  if (j.contains("max_tokens")) s.max_tokens = field<int>(j, "max_tokens", where);
  if (j.contains("temperature")) s.temperature = field<float>(j, "temperature", where);
  if (j.contains("top_p")) s.top_p = field<float>(j, "top_p", where);
  if (j.contains("top_k")) s.top_k = field<int>(j, "top_k", where);
  if (j.contains("seed")) s.seed = field<uint64_t>(j, "seed", where);
  if (j.contains("stop")) s.stop = field<std::vector<std::string>>(j, "stop", where);
  try {
    s.validate();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return r;
}

}  // namespace

std::vector<FileRequest> read_requests_file(const std::string& path,
                                            const SamplingParams& defaults) {
  std::ifstream in(path);
  check(static_cast<bool>(in), path + ": cannot open requests file");
  std::vector<FileRequest> requests;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(where + ": " + json_error_text(e));
    }
    requests.push_back(parse_request(j, where, defaults));
  }
  check(!requests.empty(), path + ": no requests (one JSON object per line)");
  return requests;
}

}  // namespace cascade
