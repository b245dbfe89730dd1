// SamplingParams(temperature=..., max_tokens=..., ...): nano-vllm's class with every field
// of cascade::SamplingParams as a keyword; unknown keywords raise TypeError.
#include "bindings.h"
#include "keyword_fields.h"

namespace cascade::python {
namespace {

const KeywordFields<SamplingParams>& sampling_fields() {
  using S = SamplingParams;
  static const KeywordFields<S> fields = [] {
    KeywordFields<S> f("SamplingParams");
    f.member("temperature", &S::temperature, "a float")
        .member("top_k", &S::top_k, "an int")
        .member("top_p", &S::top_p, "a float")
        .member("seed", &S::seed, "an int >= 0 or None")
        .member("max_tokens", &S::max_tokens, "an int")
        .member("ignore_eos", &S::ignore_eos, "a bool")
        .member("stop_token_ids", &S::stop_token_ids, "a list of ints")
        .custom(
            "stop",
            [](S& s, py::handle v) {
              s.stop = py::isinstance<py::str>(v)
                           ? std::vector<std::string>{py::cast<std::string>(v)}
                       : v.is_none() ? std::vector<std::string>{}
                                     : py::cast<std::vector<std::string>>(v);
            },
            [](const S& s) { return py::cast(s.stop); }, "a str or a list of str")
        .member("skip_special_tokens", &S::skip_special_tokens, "a bool");
    return f;
  }();
  return fields;
}

}  // namespace

void bind_sampling_params(py::module_& m) {
  py::class_<SamplingParams> cls(m, "SamplingParams",
                                 "How to pick each next token and when to stop.");
  cls.def(py::init([](const py::kwargs& kwargs) {
            SamplingParams p;
            sampling_fields().set(p, kwargs);
            p.validate();
            return p;
          }),
          "SamplingParams(temperature=1.0, top_k=0, top_p=1.0, seed=None, max_tokens=64, "
          "ignore_eos=False, stop_token_ids=[], stop=[], skip_special_tokens=True)");
  sampling_fields().def_properties(cls);
  cls.def("__repr__", [](const SamplingParams& p) {
    return "SamplingParams(" + std::string(py::str(sampling_fields().to_dict(p))) + ")";
  });
}

std::vector<SamplingParams> to_sampling_params(py::handle value, size_t num_prompts) {
  if (value.is_none()) return {SamplingParams{}};
  if (py::isinstance<SamplingParams>(value)) return {py::cast<SamplingParams>(value)};
  if (!py::isinstance<py::list>(value) && !py::isinstance<py::tuple>(value)) {
    throw py::type_error("sampling_params must be a SamplingParams or a list of them");
  }
  std::vector<SamplingParams> params;
  for (py::handle item : value) {
    if (!py::isinstance<SamplingParams>(item)) {
      throw py::type_error("sampling_params must be a SamplingParams or a list of them");
    }
    params.push_back(py::cast<SamplingParams>(item));
  }
  if (params.size() != num_prompts) {
    throw py::value_error("got " + std::to_string(params.size()) + " sampling params for " +
                          std::to_string(num_prompts) + " prompts (give one, or one per prompt)");
  }
  return params;
}

}  // namespace cascade::python
