#include "cache/page_pool.h"

#include <gtest/gtest.h>

#include <set>

#include "base/error.h"

namespace cascade {
namespace {

TEST(PagePool, AllocatesEveryPageOnceThenRunsOut) {
  PagePool pool(4, 16);
  std::set<int> seen;
  for (int i = 0; i < 4; ++i) seen.insert(pool.allocate());
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(PagePool, SharedPageIsFreedByItsLastHolder) {
  PagePool pool(2, 16);
  const int p = pool.allocate();
  pool.retain(p);
  EXPECT_EQ(pool.ref_count(p), 2);
  pool.release(p);
  EXPECT_EQ(pool.num_free(), 1);
  pool.release(p);
  EXPECT_EQ(pool.num_free(), 2);
  EXPECT_THROW(pool.release(p), Error);
}

TEST(PagePool, ReusesLeastRecentlyFreedFirstAndRevivesFreedPages) {
  PagePool pool(3, 16);
  const int a = pool.allocate(), b = pool.allocate(), c = pool.allocate();
  pool.release(b);
  pool.release(a);
  pool.release(c);
  pool.retain(a);  // revived from the free list
  EXPECT_EQ(pool.num_free(), 2);
  std::vector<int> reused;
  pool.set_on_reuse([&](int page) { reused.push_back(page); });
  EXPECT_EQ(pool.allocate(), b);
  EXPECT_EQ(pool.allocate(), c);
  EXPECT_EQ(reused, (std::vector<int>{b, c}));
}

TEST(PagePool, RejectsBadSizes) {
  EXPECT_THROW(PagePool(0, 16), Error);
  EXPECT_THROW(PagePool(4, 0), Error);
}

}  // namespace
}  // namespace cascade
