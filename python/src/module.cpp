// cascade._cascade: the C++ API for Python (docs/PYTHON.md). cascade::Error, bad input,
// becomes cascade.Error, a ValueError.
#include "base/error.h"
#include "bindings.h"

PYBIND11_MODULE(_cascade, m) {
  namespace py = pybind11;
  m.doc() = "cascade: LLM inference with compositional context caching";
  py::register_exception<cascade::Error>(m, "Error", PyExc_ValueError);
  cascade::python::bind_sampling_params(m);
  cascade::python::bind_prompt(m);
  cascade::python::bind_llm(m);
}
