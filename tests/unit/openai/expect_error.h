// Test helper: assert a parse failed with a given status, code and param.
#pragma once

#include <gtest/gtest.h>

#include "gateway/openai/api_result.h"

#define EXPECT_API_ERROR(result, status, code_str, param_str)                     \
  do {                                                                            \
    const auto& _r = (result);                                                    \
    ASSERT_FALSE(_r.ok()) << "expected error " << code_str << " on " << param_str; \
    EXPECT_EQ(_r.error().http_status, status) << _r.error().message;              \
    EXPECT_EQ(_r.error().code, code_str) << _r.error().message;                   \
    EXPECT_EQ(_r.error().param, param_str) << _r.error().message;                 \
  } while (0)
