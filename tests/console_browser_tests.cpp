#define BOOST_TEST_MODULE console_browser_tests
#include <boost/test/unit_test.hpp>

// The web console as a person sees it: headless Chromium loads the page from a real
// topup-node under a little load (orders submitted all along through the merchant API),
// runs its JavaScript, and the DOM it ends with is checked: the providers table has one row
// per configured provider, and an order looked up by its client reference shows its story
// and its result callback, delivered to the merchant.
//
// Needs the Debian package `chromium`; without it the test says SKIPPED (ctest counts it as
// skipped). With TOPUP_CONSOLE_SCREENSHOT=<file.png> in the environment it also saves a
// screenshot of the overview (how docs/console.png is made).

#include "tests/callback_receiver.hpp"
#include "tests/http_node_support.hpp"
#include "tests/process_support.hpp"
#include "tests/test_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

using namespace topup;
using namespace topup::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

namespace http = boost::beast::http;

const merchant_key shop{"shop-b", "secret-b"};
const std::string admin_token = "browser-admin-token";

/// The chromium binary on PATH, or "" when there is none.
std::string chromium_binary() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path ? path : ""};
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    for (const auto* name : {"chromium", "chromium-browser"}) {
      auto candidate = std::filesystem::path{dir} / name;
      if (std::filesystem::exists(candidate))
        return candidate.string();
    }
  return "";
}

struct browser_fixture : http_node_fixture {
  std::string chromium = chromium_binary();
  std::atomic<bool> loading{false};
  std::thread load;
  callback_receiver merchant{always(200, "success")};

  browser_fixture() {
    single_merchant(shop, "http://127.0.0.1:" + std::to_string(merchant.port()) + "/result");
    cfg["http_api"]["admin_token"] = admin_token;
  }

  ~browser_fixture() {
    loading = false;
    if (load.joinable())
      load.join();
  }

  std::string submit(const std::string& ref, const std::string& phone) {
    auto body = json{{"client_ref", ref}, {"phone", phone}, {"amount_fen", 1000}}.dump();
    auto reply = http_client{api_port}.call(http::verb::post, "/v1/orders", body,
                                           signed_headers(shop, "POST", "/v1/orders", body));
    return reply.status == 201u ? reply.body["id"].get<std::string>() : "";
  }

  /// Orders all along, about 20 a second, until the fixture ends.
  void start_load() {
    loading = true;
    load = std::thread([this] {
      const char* phones[] = {"13800138000", "13012345678", "13312345678"};
      for (int i = 0; loading && i < 20000; ++i) {
        submit("load-" + std::to_string(i), phones[i % 3]);
        std::this_thread::sleep_for(50ms);
      }
    });
  }

  /// The DOM after headless Chromium ran the page at `fragment` for a few seconds of
  /// virtual time. --no-sandbox: the tests run as root in a container, where Chromium's
  /// sandbox cannot start (it refuses to run as root without this flag).
  std::string dom_of(const std::string& fragment) {
    auto url = "http://127.0.0.1:" + std::to_string(api_port) + "/#" + fragment;
    auto run = run_program({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--virtual-time-budget=6000",
                            "--user-data-dir=" + dir.file("chromium-profile"), "--dump-dom", url},
                           dir.file("chromium.err"), 90s);
    BOOST_TEST_REQUIRE((run.code && *run.code == 0), run.describe());
    std::string dom;
    for (const auto& line : run.out)
      dom += line + "\n";
    return dom;
  }

  void screenshot(const std::string& fragment, const std::string& png) {
    auto url = "http://127.0.0.1:" + std::to_string(api_port) + "/#" + fragment;
    auto run = run_program({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--hide-scrollbars",
                            "--window-size=1400,1000", "--virtual-time-budget=6000",
                            "--user-data-dir=" + dir.file("chromium-profile"),
                            "--screenshot=" + png, url},
                           dir.file("chromium.err"), 90s);
    BOOST_TEST((run.code && *run.code == 0), run.describe());
  }
};

/// The text of the element whose opening tag contains `marker`, up to `end_tag`.
std::string part_of(const std::string& dom, const std::string& marker, const std::string& end_tag) {
  auto start = dom.find(marker);
  if (start == std::string::npos)
    return "";
  auto end = dom.find(end_tag, start);
  return dom.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(web_console_in_a_browser, browser_fixture)

BOOST_AUTO_TEST_CASE(a_person_sees_the_providers_and_an_orders_story) {
  if (chromium.empty()) {
    BOOST_TEST_MESSAGE("console_browser_tests SKIPPED: no chromium on PATH (Debian package "
                       "chromium); the console's HTTP side is tested by console_http_tests");
    std::cout << "SKIPPED: chromium is not installed" << std::endl;
    return;
  }
  start(TOPUP_NODE);
  auto id = submit("browser-ref-1", "13912345678");
  BOOST_TEST_REQUIRE(!id.empty());
  start_load();
  std::this_thread::sleep_for(3s);  // a few seconds of history for the chart

  auto providers_dom = dom_of("token=" + admin_token + "&tab=providers");
  auto table = part_of(providers_dom, "id=\"providers-table\"", "</table>");
  BOOST_TEST_REQUIRE(!table.empty(), providers_dom);
  auto body = part_of(table, "<tbody>", "</tbody>");
  BOOST_TEST(count_of(body, "<tr") == workload_providers.size(), table);
  for (const auto& name : workload_providers)
    BOOST_TEST(body.find("<strong>" + name + "</strong>") != std::string::npos, name);
  BOOST_TEST(body.find("closed") != std::string::npos, table);

  auto order_dom = dom_of("token=" + admin_token + "&q=browser-ref-1");
  auto story = part_of(order_dom, "id=\"story\"", "</section>");
  BOOST_TEST_REQUIRE(!story.empty(), order_dom);
  BOOST_TEST(story.find("id=\"story\" hidden") == std::string::npos, story);
  BOOST_TEST(story.find(id) != std::string::npos, story);
  BOOST_TEST(story.find("139****5678") != std::string::npos, story);
  BOOST_TEST(story.find("13912345678") == std::string::npos, story);
  auto steps = part_of(story, "id=\"story-table\"", "</table>");
  BOOST_TEST(steps.find(">accept<") != std::string::npos, steps);
  BOOST_TEST(steps.find(">dispatch<") != std::string::npos, steps);
  BOOST_TEST(steps.find(">succeed<") != std::string::npos, steps);
  auto callbacks = part_of(story, "id=\"deliveries-table\"", "</table>");
  BOOST_TEST(callbacks.find("/result") != std::string::npos, callbacks);
  BOOST_TEST(callbacks.find(">delivered<") != std::string::npos, callbacks);

  if (const char* png = std::getenv("TOPUP_CONSOLE_SCREENSHOT")) {
    std::this_thread::sleep_for(20s);  // a chart with some history
    screenshot("token=" + admin_token, png);
  }
}

BOOST_AUTO_TEST_SUITE_END()
