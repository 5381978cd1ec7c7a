# Project options. All are prefixed TANDEM_ and documented in docs/deployment.md.
option(TANDEM_BUILD_TESTS "Build unit, integration and kernel tests" ON)
option(TANDEM_BUILD_BENCH "Build micro-benchmarks" ON)
option(TANDEM_WERROR "Treat warnings as errors" OFF)
set(TANDEM_SANITIZE "" CACHE STRING "Sanitizer: address|thread|undefined (empty: none)")
set(TANDEM_CUDA "AUTO" CACHE STRING "CUDA backend: AUTO (on when nvcc is found), ON, OFF")

# Host-compiler flags apply to C/C++ only; CUDA sources pass the same warnings through -Xcompiler
# (nvcc rejects -Wall itself).
add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-Wall> $<$<COMPILE_LANGUAGE:C,CXX>:-Wextra>
                    "$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Xcompiler=-Wall,-Wextra>")
if(TANDEM_WERROR)
  add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-Werror> "$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Werror=all-warnings>")
endif()
if(TANDEM_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${TANDEM_SANITIZE}>
                      $<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=${TANDEM_SANITIZE})
endif()

find_program(TANDEM_CCACHE ccache)
if(TANDEM_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${TANDEM_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${TANDEM_CCACHE})
endif()
