# CASCADE_SANITIZE: build everything (libraries, tests, CLI, examples) with GCC/Clang
# sanitizers, e.g. -DCASCADE_SANITIZE=address,undefined or -DCASCADE_SANITIZE=thread.
# Every report is fatal (-fno-sanitize-recover), so a finding fails the test that caused it.
# -O1 keeps the instrumented build fast enough for the whole suite; frame pointers and -g
# give readable stacks. scripts/test-sanitizers.sh configures and runs these builds.
set(CASCADE_SANITIZE "" CACHE STRING
    "Sanitizers to build with (-fsanitize=...): empty, address,undefined or thread")
if(CASCADE_SANITIZE)
  if(CASCADE_SANITIZE MATCHES "thread" AND CASCADE_SANITIZE MATCHES "address")
    message(FATAL_ERROR "CASCADE_SANITIZE: thread cannot be combined with address")
  endif()
  if(NOT CASCADE_SANITIZE MATCHES "^[a-z,-]+$")
    message(FATAL_ERROR "CASCADE_SANITIZE: '${CASCADE_SANITIZE}' is not a list like address,undefined")
  endif()
  set(sanitize_flags -fsanitize=${CASCADE_SANITIZE} -fno-sanitize-recover=all
                     -fno-omit-frame-pointer -g -O1)
  # Host code only: nvcc does not take these flags (the sanitizer builds use CASCADE_CUDA=OFF).
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${sanitize_flags}>")
  add_link_options(-fsanitize=${CASCADE_SANITIZE})
  message(STATUS "cascade: sanitizers ${CASCADE_SANITIZE}")
endif()
