#define BOOST_TEST_MODULE protocol_tests
#include <boost/test/unit_test.hpp>

// The remote protocol as CAF carries it: every type of the type-id block in
// messages/protocol.hpp crosses a binary serializer inside a message and reads back the same,
// and no field of a message type is left out of its inspect() by accident. Types added to the
// block are covered without touching this file.

#include "messages/errors.hpp"
#include "messages/protocol.hpp"
#include "tests/test_support.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using namespace topup;
using namespace topup::testing;

namespace {

// -- how many fields a struct has, and how many its inspect() visits -------------------------

/// Converts to any member type: an aggregate can be brace-initialised from N of these exactly
/// when it has at least N fields.
struct any_field {
  template <class T>
  operator T&() const&&;
  template <class T>
  operator T&&() const&&;
};

template <class T, class Indexes, class = void>
struct brace_initialisable : std::false_type {};

template <class T, size_t... I>
struct brace_initialisable<T, std::index_sequence<I...>,
                           std::void_t<decltype(T{(void(I), any_field{})...})>>
  : std::true_type {};

/// The number of fields of the aggregate T.
template <class T, size_t N = 0>
constexpr size_t field_count() {
  static_assert(N <= 64, "field_count: more than 64 fields, or T is not an aggregate");
  if constexpr (brace_initialisable<T, std::make_index_sequence<N + 1>>::value)
    return field_count<T, N + 1>();
  else
    return N;
}

/// An inspector that only counts the fields inspect() hands it (annotations aside).
struct field_counter {
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  size_t fields = 0;

  template <class... Ts>
  void operator()(Ts&&...) {
    ((fields += caf::meta::is_annotation<std::decay_t<Ts>>::value ? 0 : 1), ...);
  }
};

template <class T>
size_t inspected_field_count() {
  T value{};
  field_counter counter;
  inspect(counter, value);
  return counter.fields;
}

/// Fields that stay in their process on purpose.
template <class T>
constexpr size_t process_local_fields() {
  // An order's steady-clock deadline means nothing in another process: the receiver anchors
  // its own from deadline_ms (anchor_deadline).
  return std::is_same_v<T, order> ? 1 : 0;
}

// -- a value of any message type with every field set -----------------------------------------

template <class T>
struct is_vector : std::false_type {};
template <class U, class A>
struct is_vector<std::vector<U, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class U>
struct is_optional<std::optional<U>> : std::true_type {};
template <class T>
struct is_time_point : std::false_type {};
template <class C, class D>
struct is_time_point<std::chrono::time_point<C, D>> : std::true_type {};

template <class T>
T sample(int seed);

/// Becomes a sample of whatever member it initialises.
struct any_sample {
  int seed;
  template <class T>
  operator T() const {
    return sample<T>(seed);
  }
};

template <class T, size_t... I>
T sample_aggregate(int seed, std::index_sequence<I...>) {
  return T{any_sample{seed + static_cast<int>(I)}...};
}

/// A value of T with every field set, to values that differ from field to field (`seed`
/// shifts them), recursively: strings, numbers, enums, errors, times, optionals and vectors
/// of two.
template <class T>
T sample(int seed) {
  if constexpr (std::is_same_v<T, std::string>)
    return "s" + std::to_string(seed);
  else if constexpr (std::is_same_v<T, bool>)
    return seed % 2 == 0;
  else if constexpr (std::is_enum_v<T>)
    return static_cast<T>(1);
  else if constexpr (std::is_arithmetic_v<T>)
    return static_cast<T>(seed + 1);
  else if constexpr (std::is_same_v<T, caf::error>)
    return make_error(errc::overloaded, "s" + std::to_string(seed));
  else if constexpr (is_time_point<T>::value)
    return T{std::chrono::milliseconds(seed + 1)};
  else if constexpr (is_optional<T>::value)
    return sample<typename T::value_type>(seed);
  else if constexpr (is_vector<T>::value)
    return T{sample<typename T::value_type>(seed), sample<typename T::value_type>(seed + 1)};
  else
    return sample_aggregate<T>(seed, std::make_index_sequence<field_count<T>()>{});
}

// -- the type-id block, one type at a time ---------------------------------------------------

template <class F, caf::type_id_t... Offsets>
void each_topup_type(F&& visit, std::integer_sequence<caf::type_id_t, Offsets...>) {
  (visit(caf::type_by_id<caf::id_block::topup::begin + Offsets>{}), ...);
}

/// Calls visit(type_by_id<id>{}) for every id of topup's type-id block.
template <class F>
void each_topup_type(F&& visit) {
  constexpr auto count = caf::id_block::topup::end - caf::id_block::topup::begin;
  each_topup_type(std::forward<F>(visit), std::make_integer_sequence<caf::type_id_t, count>{});
}

template <class... Ts>
std::vector<char> serialized(caf::actor_system& system, Ts&... values) {
  std::vector<char> bytes;
  caf::binary_serializer serializer{system, bytes};
  auto error = serializer(values...);
  BOOST_REQUIRE_MESSAGE(!error, "cannot serialize: " << caf::to_string(error));
  return bytes;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(remote_protocol, actor_fixture)

BOOST_AUTO_TEST_CASE(every_message_type_crosses_the_network_inside_a_message_unchanged) {
  size_t types = 0;
  each_topup_type([&](auto by_id) {
    using type = typename decltype(by_id)::type;
    auto name = caf::type_name_by_id<caf::type_id<type>::value>::value;
    BOOST_TEST_CONTEXT(name) {
      auto sent = sample<type>(1);
      auto message = caf::make_message(sent);
      auto bytes = serialized(system, message);

      caf::message received;
      caf::binary_deserializer deserializer{system, bytes};
      auto error = deserializer(received);
      BOOST_REQUIRE_MESSAGE(!error, "cannot read back: " << caf::to_string(error));
      BOOST_REQUIRE(received.match_elements<type>());
      auto read_back = received.get_as<type>(0);
      BOOST_TEST(serialized(system, read_back) == serialized(system, sent));
    }
    ++types;
  });
  BOOST_TEST(types == static_cast<size_t>(caf::id_block::topup::end
                                          - caf::id_block::topup::begin));
}

BOOST_AUTO_TEST_CASE(no_field_of_a_message_type_is_left_out_of_its_inspect) {
  size_t checked = 0;
  each_topup_type([&](auto by_id) {
    using type = typename decltype(by_id)::type;
    if constexpr (std::is_aggregate_v<type>) {
      auto name = caf::type_name_by_id<caf::type_id<type>::value>::value;
      BOOST_TEST(inspected_field_count<type>() + process_local_fields<type>()
                   == field_count<type>(),
                 name << ": " << field_count<type>() << " fields, inspect() visits "
                      << inspected_field_count<type>());
      ++checked;
    }
  });
  // The block is mostly structs (the rest are vectors of them).
  BOOST_TEST(checked >= 30u);
}

BOOST_AUTO_TEST_SUITE_END()
