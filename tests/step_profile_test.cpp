#include "base/step_profile.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace cascade {
namespace {

using std::chrono::milliseconds;

// The line of `table` that names `phase` (empty if none).
std::string line_of(const std::string& table, const std::string& phase) {
  const size_t at = table.find(phase);
  if (at == std::string::npos) return "";
  const size_t begin = table.rfind('\n', at) + 1;
  return table.substr(begin, table.find('\n', at) - begin);
}

// Nested phases (step inputs, attention host work, graph recording) are listed with how often they ran
// but not added to the steps' total, which the enclosing forward enqueue already holds.
TEST(StepProfileTest, NestedPhasesAreCountedButNotAddedTwice) {
  StepProfile& profile = StepProfile::instance();
  profile.reset();
  profile.add(StepPhase::Forward, milliseconds(30));
  profile.add(StepPhase::GraphRecord, milliseconds(10));
  profile.add(StepPhase::GraphRecord, milliseconds(10));
  profile.add(StepPhase::StepInputs, milliseconds(5));
  profile.add(StepPhase::SampleWait, milliseconds(10));
  profile.add_step();
  profile.add_step();
  const std::string table = profile.table();
  profile.reset();
  EXPECT_NE(table.find("2 steps, 40.0"), std::string::npos) << table;
  const std::string recording = line_of(table, "of it graph recording");
  EXPECT_NE(recording.find("20.0 ms"), std::string::npos) << table;
  EXPECT_NE(recording.find("10.000 ms/step"), std::string::npos) << table;
  EXPECT_NE(recording.find(" 50.0 %"), std::string::npos) << table;
  EXPECT_NE(recording.find(" 2 times"), std::string::npos) << table;
  EXPECT_NE(line_of(table, "forward enqueue").find(" 1 times"), std::string::npos) << table;
  EXPECT_NE(line_of(table, "of it step inputs").find("5.0 ms"), std::string::npos) << table;
  EXPECT_NE(line_of(table, "schedule").find(" 0 times"), std::string::npos) << table;
}

}  // namespace
}  // namespace cascade
