// Keyword arguments onto a C++ struct's fields, by name: the Python constructors of
// LLM (EngineConfig) and SamplingParams take every field as a keyword and refuse any
// other name with a TypeError, so a misspelt option is never silently dropped.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <string>
#include <vector>

namespace cascade::python {

namespace py = pybind11;

template <class T>
class KeywordFields {
 public:
  explicit KeywordFields(std::string owner) : owner_(std::move(owner)) {}

  // A field set and read as its own C++ type.
  template <class V>
  KeywordFields& member(const char* name, V T::*field, const char* type_name) {
    return custom(
        name, [field](T& target, py::handle value) { target.*field = py::cast<V>(value); },
        [field](const T& target) { return py::cast(target.*field); }, type_name);
  }
  KeywordFields& custom(const char* name, std::function<void(T&, py::handle)> set,
                        std::function<py::object(const T&)> get, const char* type_name) {
    fields_.push_back({name, std::move(set), std::move(get), type_name});
    return *this;
  }

  void set(T& target, const py::kwargs& kwargs) const {
    for (const auto& [key, value] : kwargs) {
      const std::string name = py::cast<std::string>(key);
      const Field* field = find(name);
      if (!field) {
        throw py::type_error(owner_ + "() got an unexpected keyword argument '" + name + "'");
      }
      try {
        field->set(target, value);
      } catch (const py::cast_error&) {
        throw py::type_error(owner_ + "(): '" + name + "' must be " + field->type_name + ", not " +
                             std::string(py::str(value.get_type().attr("__name__"))));
      }
    }
  }

  // Read-write properties with the fields' names.
  template <class Class>
  void def_properties(Class& cls) const {
    for (const Field& f : fields_) {
      cls.def_property(
          f.name, [get = f.get](const T& t) { return get(t); },
          [set = f.set, name = std::string(f.name), type = f.type_name, owner = owner_](
              T& t, py::handle v) {
            try {
              set(t, v);
            } catch (const py::cast_error&) {
              throw py::type_error(owner + "." + name + " must be " + type);
            }
          });
    }
  }

  py::dict to_dict(const T& target) const {
    py::dict d;
    for (const Field& f : fields_) d[f.name] = f.get(target);
    return d;
  }

 private:
  struct Field {
    const char* name;
    std::function<void(T&, py::handle)> set;
    std::function<py::object(const T&)> get;
    const char* type_name;
  };
  const Field* find(const std::string& name) const {
    for (const Field& f : fields_) {
      if (name == f.name) return &f;
    }
    return nullptr;
  }

  std::string owner_;
  std::vector<Field> fields_;
};

}  // namespace cascade::python
