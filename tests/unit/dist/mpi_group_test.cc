// Run as `mpirun -np 2 tandem_mpi_group_test` (CTest does): the same checks as the thread-group
// test, over real processes and Open MPI.
#include <gtest/gtest.h>

#include "tests/unit/dist/collective_checks.h"
#include "worker/runtime/mpi_group.h"

namespace tandem::runtime {
namespace {

MpiSession* session = nullptr;

TEST(MpiGroup, LaunchedAsAJob) {
  EXPECT_TRUE(launched_by_mpi());
  EXPECT_GE(session->size(), 2) << "run under mpirun -np 2 (or more)";
}

TEST(MpiGroup, CollectivesAgreeWithTheirDefinitions) {
  auto group = session->host_group();
  EXPECT_EQ(group->name(), "mpi");
  EXPECT_EQ(group->rank(), session->rank());
  testing::check_collectives(*group);
}

TEST(MpiGroup, ControlChannelBroadcastsAndGathers) {
  auto channel = session->control_channel();
  testing::check_control(*channel);
}

}  // namespace
}  // namespace tandem::runtime

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto s = tandem::runtime::MpiSession::start();
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.status().to_string().c_str());
    return 1;
  }
  tandem::runtime::session = s->get();
  const int rc = RUN_ALL_TESTS();
  s->reset();
  return rc;
}
