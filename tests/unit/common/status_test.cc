#include "common/status.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

StatusOr<int> half(int x) {
  if (x % 2) return invalid_argument("{} is odd", x);
  return x / 2;
}

StatusOr<int> quarter(int x) {
  ASSIGN_OR_RETURN(int h, half(x));
  ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(StatusTest, PropagatesFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  StatusOr<int> r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().to_string(), "INVALID_ARGUMENT: 3 is odd");
  EXPECT_EQ(r.status().with_context("request 7").message(), "request 7: 3 is odd");
}

TEST(StatusTest, ReturnIfError) {
  auto f = [](bool fail) -> Status {
    RETURN_IF_ERROR(fail ? not_found("x") : Status::Ok());
    return data_loss("reached");
  };
  EXPECT_EQ(f(true).code(), StatusCode::kNotFound);
  EXPECT_EQ(f(false).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tandem
