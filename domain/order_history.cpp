#include "domain/order_history.hpp"

#include <nlohmann/json.hpp>

namespace topup {
namespace {

/// `text` as a JSON string. Written by hand because the store appends an entry for every
/// state change on its one thread: building an nlohmann::json object per entry costs about
/// ten times as much. decode_history reads it back with nlohmann, and the tests check that
/// every byte string survives the round trip.
void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_text(std::string& out, const char* key, std::string_view value) {
  if (value.empty())
    return;
  out += ",\"";
  out += key;
  out += "\":";
  append_quoted(out, value);
}

void append_number(std::string& out, const char* key, int64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  out += std::to_string(value);
}

std::string text_at(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

int64_t number_at(const nlohmann::json& object, const char* key, int64_t otherwise) {
  auto found = object.find(key);
  return found != object.end() && found->is_number_integer() ? found->get<int64_t>() : otherwise;
}

/// The status after `event`: the state machine's answer from `current`. An event it refuses
/// there (a history rebuilt from older records may miss a step) still says where a state
/// change leads, the same from every status it is legal in; a note keeps the status.
order_status status_after(order_status current, order_event event) {
  if (auto next = next_status(current, event))
    return *next;
  if (!is_note(event))
    for (auto from : all_order_statuses)
      if (auto next = next_status(from, event))
        return *next;
  return current;
}

} // namespace

std::string encode_history_entry(const history_entry& entry) {
  std::string line;
  line.reserve(96 + entry.detail.size() + entry.request_id.size());
  line += "{\"t\":";
  line += std::to_string(entry.at_ms);
  append_text(line, "e", entry.event);
  append_text(line, "p", entry.provider);
  if (entry.attempt_no > 0)
    append_number(line, "n", entry.attempt_no);
  append_text(line, "r", entry.request_id);
  if (!entry.node.empty()) {
    append_text(line, "node", entry.node);
    append_number(line, "epoch", entry.epoch);
  }
  append_text(line, "via", entry.via);
  if (entry.latency_us >= 0)
    append_number(line, "us", entry.latency_us);
  append_text(line, "txn", entry.provider_txn);
  append_text(line, "d", entry.detail);
  line += "}\n";
  return line;
}

std::vector<history_entry> decode_history(const order& o, std::string_view stored) {
  std::vector<history_entry> entries;
  history_entry accepted;
  accepted.at_ms = o.accepted_at_ms;
  accepted.event = "accept";
  accepted.status = std::string{to_string(order_status::accepted)};
  entries.push_back(std::move(accepted));
  auto current = order_status::accepted;
  while (!stored.empty()) {
    auto end = stored.find('\n');
    auto line = stored.substr(0, end);
    stored = end == std::string_view::npos ? std::string_view{} : stored.substr(end + 1);
    if (line.empty())
      continue;
    auto object = nlohmann::json::parse(line, nullptr, false);
    history_entry entry;
    if (!object.is_object()) {
      entry.event = "unreadable";
      entry.detail = std::string{line};
      entry.status = std::string{to_string(current)};
      entries.push_back(std::move(entry));
      continue;
    }
    entry.at_ms = number_at(object, "t", 0);
    entry.event = text_at(object, "e");
    entry.provider = text_at(object, "p");
    entry.attempt_no = static_cast<int32_t>(number_at(object, "n", 0));
    entry.request_id = text_at(object, "r");
    entry.node = text_at(object, "node");
    entry.epoch = number_at(object, "epoch", 0);
    entry.via = text_at(object, "via");
    entry.latency_us = number_at(object, "us", -1);
    entry.provider_txn = text_at(object, "txn");
    entry.detail = text_at(object, "d");
    if (auto event = order_event_from_string(entry.event))
      current = status_after(current, *event);
    entry.status = std::string{to_string(current)};
    entries.push_back(std::move(entry));
  }
  return entries;
}

const history_entry* attempt_end(const std::vector<history_entry>& history, int32_t attempt_no) {
  if (attempt_no <= 0)
    return nullptr;
  const history_entry* end = nullptr;
  for (const auto& entry : history) {
    if (entry.attempt_no != attempt_no)
      continue;
    auto event = order_event_from_string(entry.event);
    if (!event || *event == order_event::dispatch || is_note(*event))
      continue;
    end = &entry;
  }
  return end;
}

bool record_unanswered_query(uint64_t nth) {
  return nth > 0 && (nth & (nth - 1)) == 0;
}

nlohmann::ordered_json history_entry_json(const history_entry& x) {
  return {
    {"at_ms", x.at_ms},
    {"event", x.event},
    {"status", x.status},
    {"provider", x.provider},
    {"attempt", x.attempt_no},
    {"request_id", x.request_id},
    {"node", x.node},
    {"epoch", x.epoch},
    {"via", x.via},
    {"latency_us", x.latency_us},
    {"provider_txn", x.provider_txn},
    {"detail", x.detail},
  };
}

} // namespace topup
