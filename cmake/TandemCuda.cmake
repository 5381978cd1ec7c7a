# The CUDA backend switch. TANDEM_CUDA=AUTO (the default) turns it on when nvcc is found on PATH or
# at /usr/local/cuda/bin/nvcc, so CI (toolkit, no GPU) compiles the backend and machines without a
# toolkit build the CPU backend alone. Sets TANDEM_HAVE_CUDA for the folders that care.
#
# Target: Hopper only (sm_90a machine code). "90a" makes CMake pass
# --generate-code=arch=compute_90a,code=[compute_90a,sm_90a], the form nvcc 13.0 accepts for the
# arch-specific target (HOPPER.md: the -arch=sm_90a shorthand also runs a plain sm_90 pass).
# cudart is linked statically; cuBLAS / cuBLASLt are the toolkit's shared libraries (their static
# archives would make every binary hundreds of MB), found on the target under /usr/local/cuda.
set(TANDEM_HAVE_CUDA OFF)
if(NOT TANDEM_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(TANDEM_NVCC nvcc HINTS /usr/local/cuda/bin)
    if(TANDEM_NVCC)
      set(CMAKE_CUDA_COMPILER ${TANDEM_NVCC} CACHE FILEPATH "CUDA compiler" FORCE)
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER)
    set(TANDEM_HAVE_CUDA ON)
  elseif(TANDEM_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TANDEM_CUDA=ON but nvcc was found neither on PATH nor at /usr/local/cuda/bin; "
                        "install the CUDA toolkit or configure with -DTANDEM_CUDA=OFF")
  endif()
endif()

if(TANDEM_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90a)
  endif()
  set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 has no C++20 flags for nvcc; the .cu files need 17
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  if(TANDEM_CCACHE)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${TANDEM_CCACHE})
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "Tandem: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "Tandem: CUDA backend OFF (TANDEM_CUDA=${TANDEM_CUDA}; no nvcc found or disabled)")
endif()
