# tandem_library(NAME SRCS a.cc b.cc DEPS x y [PUBLIC_DEPS ...])
function(tandem_library name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS;PUBLIC_DEPS;COPTS" ${ARGN})
  add_library(${name} STATIC ${A_SRCS})
  target_link_libraries(${name} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  if(A_COPTS)
    target_compile_options(${name} PRIVATE ${A_COPTS})
  endif()
endfunction()

# tandem_test(NAME SRCS a_test.cc DEPS lib1 lib2 [LABELS unit])
# Registers a GoogleTest binary with CTest; tests run with the repository root as working directory.
function(tandem_test name)
  if(NOT TANDEM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS}"
    ENVIRONMENT "TANDEM_SOURCE_DIR=${PROJECT_SOURCE_DIR};TANDEM_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# Adds each listed subdirectory that has a CMakeLists.txt (components land one by one).
function(tandem_add_subdirs)
  foreach(dir ${ARGN})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      add_subdirectory(${dir})
    endif()
  endforeach()
endfunction()

# tandem_mpi_test(NAME NP n SRCS ... DEPS ... [LABELS ...])
# A GoogleTest binary run as one MPI job of NP ranks (every rank runs the tests; collectives
# rendezvous). --oversubscribe and yield-when-idle so it runs on a 2-core machine; root allowed
# (CI runs as root). A timeout, since a rank that fails an assertion leaves the others waiting.
function(tandem_mpi_test name)
  if(NOT TANDEM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(A "" "NP" "SRCS;DEPS;LABELS" ${ARGN})
  find_program(TANDEM_MPIRUN NAMES mpirun mpiexec REQUIRED)
  add_executable(${name} ${A_SRCS})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest)
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  add_test(NAME ${name}
    COMMAND ${TANDEM_MPIRUN} --oversubscribe --allow-run-as-root --mca mpi_yield_when_idle 1
            -np ${A_NP} $<TARGET_FILE:${name}>
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABELS};mpi" TIMEOUT 300
    ENVIRONMENT "TANDEM_SOURCE_DIR=${PROJECT_SOURCE_DIR};TANDEM_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
