#include "domain/ownership.hpp"
#include "domain/store_shards.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace topup;

BOOST_AUTO_TEST_SUITE(store_shards)

BOOST_AUTO_TEST_CASE(a_key_lands_on_the_same_shard_on_every_build) {
  // Fixed values: a change here moves stored orders to shards that do not hold them.
  BOOST_TEST(stable_hash("default\nref-1") == 0x992cdd2a12649e2fULL);
  BOOST_TEST(shard_of_key("default", "ref-1", 4) == 3u);
  BOOST_TEST(shard_of_key("default", "ref-2", 4) == 2u);
  BOOST_TEST(shard_of_key("default", "order-42", 4) == 1u);
  BOOST_TEST(shard_of_key("shop", "ref-1", 3) == 2u);
  BOOST_TEST(shard_of_key("anything", "at all", 1) == 0u);
}

BOOST_AUTO_TEST_CASE(the_merchant_is_part_of_the_key) {
  size_t differing = 0;
  for (int i = 0; i < 100; ++i) {
    auto ref = "ref-" + std::to_string(i);
    differing += shard_of_key("a", ref, 4) != shard_of_key("b", ref, 4);
  }
  BOOST_TEST(differing > 50u);
}

BOOST_AUTO_TEST_CASE(keys_spread_evenly_over_the_shards) {
  for (size_t shards : {2u, 3u, 4u}) {
    std::map<size_t, size_t> counts;
    const size_t keys = 30000;
    for (size_t i = 0; i < keys; ++i)
      counts[shard_of_key("bench", "order-" + std::to_string(i), shards)]++;
    BOOST_TEST(counts.size() == shards);
    for (const auto& [shard, count] : counts) {
      BOOST_TEST_CONTEXT("shard " << shard << " of " << shards) {
        // Within 5% of an even share.
        BOOST_TEST(count * shards > keys * 95 / 100);
        BOOST_TEST(count * shards < keys * 105 / 100);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_id_names_its_shard) {
  BOOST_TEST(id_with_shard("demo-1-lx3k9a2b-1f", 2) == "demo-1-lx3k9a2b-1f.2");
  BOOST_TEST(shard_of_id("demo-1-lx3k9a2b-1f.2", 3) == 2u);
  BOOST_TEST(shard_of_id("demo-1-lx3k9a2b-1f.0", 3) == 0u);
  BOOST_TEST(shard_of_id("n-1-lx3k9a2b-1f.12", 16) == 12u);
}

BOOST_AUTO_TEST_CASE(ids_without_a_usable_mark_are_shard_0) {
  // Orders stored before the store had shards.
  BOOST_TEST(shard_of_id("demo-1-lx3k9a2b-1f", 3) == 0u);
  // A node name with a dot: the text after the last dot is not all digits.
  BOOST_TEST(shard_of_id("eu.node-lx3k9a2b-1f", 3) == 0u);
  BOOST_TEST(shard_of_id("x-1.", 3) == 0u);
  BOOST_TEST(shard_of_id("", 3) == 0u);
  // A mark beyond the store's shards (an id a client made up).
  BOOST_TEST(shard_of_id("demo-1-lx3k9a2b-1f.7", 3) == 0u);
  BOOST_TEST(shard_of_id("demo-1-lx3k9a2b-1f.99999999999999999999", 3) == 0u);
}

BOOST_AUTO_TEST_CASE(shard_files_sit_beside_the_first) {
  BOOST_TEST(shard_file("topup.db", 0) == "topup.db");
  BOOST_TEST(shard_file("topup.db", 1) == "topup.shard1.db");
  BOOST_TEST(shard_file("/var/lib/topup/topup.db", 3) == "/var/lib/topup/topup.shard3.db");
  BOOST_TEST(shard_file("/var/lib/topup.d/store", 2) == "/var/lib/topup.d/store.shard2");
  BOOST_TEST(shard_file("/data/.hidden", 1) == "/data/.hidden.shard1");
}

BOOST_AUTO_TEST_CASE(a_new_store_gets_up_to_four_shards) {
  BOOST_TEST(default_shard_count(0) == 1u);
  BOOST_TEST(default_shard_count(1) == 1u);
  BOOST_TEST(default_shard_count(2) == 1u);
  BOOST_TEST(default_shard_count(7) == 1u);
  BOOST_TEST(default_shard_count(8) == 2u);
  BOOST_TEST(default_shard_count(16) == 4u);
  BOOST_TEST(default_shard_count(64) == 4u);
}

using row = std::pair<int, std::string>;  // (page key, id)

BOOST_AUTO_TEST_CASE(merged_pages_equal_one_stores_page) {
  // Three shards' rows; each shard answers its first `limit` rows after the same key.
  std::vector<std::vector<row>> shards{{{1, "a"}, {4, "d"}, {4, "e"}, {9, "z"}},
                                       {{2, "b"}, {4, "c"}, {7, "x"}},
                                       {{3, "b"}, {5, "f"}}};
  std::vector<row> everything;
  for (const auto& shard : shards)
    everything.insert(everything.end(), shard.begin(), shard.end());
  std::sort(everything.begin(), everything.end());
  const size_t limit = 3;
  std::vector<row> paged;
  row after{0, ""};
  for (int guard = 0; guard < 10; ++guard) {
    std::vector<std::vector<row>> pages;
    for (const auto& shard : shards) {
      std::vector<row> page;
      for (const auto& r : shard)
        if (after < r && page.size() < limit)
          page.push_back(r);
      pages.push_back(page);
    }
    auto merged = merge_pages(pages, std::less<row>{}, limit);
    paged.insert(paged.end(), merged.begin(), merged.end());
    if (merged.size() < limit)
      break;
    after = merged.back();
  }
  BOOST_TEST(paged == everything);
}

BOOST_AUTO_TEST_CASE(merging_keeps_the_order_asked_for) {
  std::vector<std::vector<int>> pages{{9, 5, 1}, {8, 7, 2}, {}};
  auto newest = merge_pages(pages, std::greater<int>{}, 4);
  BOOST_TEST(newest == (std::vector<int>{9, 8, 7, 5}), boost::test_tools::per_element());
  BOOST_TEST(merge_pages(std::vector<std::vector<int>>{{}, {}}, std::less<int>{}, 5).empty());
}

BOOST_AUTO_TEST_CASE(a_split_batch_is_answered_in_its_own_order) {
  std::vector<std::string> batch{"a.1", "b.0", "c.2", "d.1", "e"};
  auto positions = positions_by_shard(batch, 3, [](const std::string& id) {
    return shard_of_id(id, 3);
  });
  BOOST_TEST(positions[0] == (std::vector<size_t>{1, 4}), boost::test_tools::per_element());
  BOOST_TEST(positions[1] == (std::vector<size_t>{0, 3}), boost::test_tools::per_element());
  BOOST_TEST(positions[2] == (std::vector<size_t>{2}), boost::test_tools::per_element());
  std::vector<std::string> answers(batch.size());
  for (size_t shard = 0; shard < 3; ++shard) {
    auto part = take_positions(batch, positions[shard]);
    for (auto& id : part)
      id = "stored " + id;
    place_at_positions(answers, positions[shard], std::move(part));
  }
  std::vector<std::string> expected{"stored a.1", "stored b.0", "stored c.2", "stored d.1",
                                    "stored e"};
  BOOST_TEST(answers == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
