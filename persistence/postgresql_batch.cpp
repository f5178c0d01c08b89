#include "persistence/postgresql_batch.hpp"

#include "domain/order_state_machine.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/order_store.hpp"

#include <soci/soci.h>

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace topup {

std::string postgresql_text_array(const std::vector<std::string>& values) {
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      text += ',';
    text += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\')
        text += '\\';
      text += c;
    }
    text += '"';
  }
  text += '}';
  return text;
}

std::string postgresql_integer_array(const std::vector<long long>& values) {
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      text += ',';
    text += std::to_string(values[i]);
  }
  text += '}';
  return text;
}

std::vector<std::vector<size_t>> rounds_by_order(const std::vector<transition>& changes) {
  std::vector<std::vector<size_t>> rounds;
  // The round an order's next change goes to: one after its previous change's.
  std::unordered_map<std::string, size_t> next_round;
  for (size_t position = 0; position < changes.size(); ++position) {
    auto& round = next_round[changes[position].order_id];
    if (round == rounds.size())
      rounds.emplace_back();
    rounds[round].push_back(position);
    ++round;
  }
  return rounds;
}

namespace {

/// Rows copied out per fetch of a RETURNING result (libpq already holds all of it).
constexpr size_t fetch_rows = 1024;

std::string insert_orders_sql() {
  // A (merchant, client reference) seen twice in the batch: the first row is inserted, the
  // second conflicts with it and is skipped, as row by row.
  return "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider, status,"
         " attempts, accepted_at_ms, deadline_ms, updated_at_ms, last_error, ingress, merchant,"
         " notify_url)"
         " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:refs AS text[]),"
         " CAST(:phones AS text[]), CAST(:carriers AS text[]), CAST(:amounts AS bigint[]),"
         " CAST(:providers AS text[]), CAST(:statuses AS text[]),"
         " CAST(:attempts AS integer[]), CAST(:accepted AS bigint[]),"
         " CAST(:deadlines AS bigint[]), CAST(:updated AS bigint[]), CAST(:errors AS text[]),"
         " CAST(:ingresses AS text[]), CAST(:merchants AS text[]),"
         " CAST(:notify_urls AS text[]))"
         " ON CONFLICT (merchant, client_ref) DO NOTHING RETURNING id";
}

std::string add_notes_sql() {
  // Notes add to the history alone.
  return "UPDATE orders AS o SET history = o.history || v.entry"
         " FROM unnest(CAST(:ids AS text[]), CAST(:froms AS text[]),"
         " CAST(:entries AS text[]), CAST(:positions AS bigint[]))"
         " AS v(id, from_status, entry, position)"
         " WHERE o.id = v.id AND o.status = v.from_status RETURNING v.position";
}

std::string change_orders_sql() {
  // The same update as row by row, and the same fence (lease_fence_sql), whose lock keeps a
  // takeover waiting until this transaction, which passed the check, has committed.
  return "UPDATE orders AS o SET status = v.to_status,"
         " provider = CASE WHEN v.provider = '' THEN o.provider ELSE v.provider END,"
         " attempts = GREATEST(o.attempts, v.attempt_no),"
         " updated_at_ms = v.at_ms, last_error = v.detail, history = o.history || v.entry,"
         " wrong_carrier_at = o.wrong_carrier_at || v.wrong_carrier"
         " FROM unnest(CAST(:ids AS text[]), CAST(:froms AS text[]), CAST(:tos AS text[]),"
         " CAST(:providers AS text[]), CAST(:attempts AS integer[]), CAST(:ats AS bigint[]),"
         " CAST(:details AS text[]), CAST(:owners AS text[]), CAST(:epochs AS bigint[]),"
         " CAST(:positions AS bigint[]), CAST(:entries AS text[]),"
         " CAST(:wrong_carrier AS text[]), CAST(:attempts_before AS integer[]))"
         " AS v(id, from_status, to_status, provider, attempt_no, at_ms, detail,"
         " lease_owner, lease_epoch, position, entry, wrong_carrier, attempts_before)"
         " WHERE o.id = v.id AND o.status = v.from_status"
         " AND (v.attempts_before < 0 OR o.attempts = v.attempts_before)"
         " AND (v.lease_owner = '' OR "
         + lease_fence_sql(store_config::backend_kind::postgresql, "v.provider",
                           "v.lease_owner", "v.lease_epoch")
         + ") RETURNING v.position";
}

std::string insert_attempts_sql() {
  return "INSERT INTO attempts (order_id, attempt_no, provider, request_id, started_at_ms,"
         " node, epoch)"
         " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:nos AS integer[]),"
         " CAST(:providers AS text[]), CAST(:requests AS text[]), CAST(:ats AS bigint[]),"
         " CAST(:nodes AS text[]), CAST(:epochs AS bigint[]))";
}

} // namespace

template <class Row>
array_statement<Row>::array_statement(soci::session& session, const std::string& sql,
                                      size_t parameters)
  : parameters_(parameters), statement_(session) {
  for (auto& parameter : parameters_)
    statement_.exchange(soci::use(parameter));
  if constexpr (!std::is_void_v<Row>)
    statement_.exchange(soci::into(fetched_));
  statement_.alloc();
  statement_.prepare(sql, soci::details::st_one_time_query);
  statement_.define_and_bind();
}

template <class Row>
auto array_statement<Row>::run(std::vector<std::string> arrays) -> rows {
  if (arrays.size() != parameters_.size())
    throw std::logic_error("a batch statement of " + std::to_string(parameters_.size())
                           + " parameters was given " + std::to_string(arrays.size())
                           + " arrays");
  for (size_t i = 0; i < parameters_.size(); ++i)
    parameters_[i] = std::move(arrays[i]);
  if constexpr (std::is_void_v<Row>) {
    statement_.execute(true);
  } else {
    std::vector<Row> returned;
    fetched_.resize(fetch_rows);
    statement_.execute(false);
    while (statement_.fetch()) {
      returned.insert(returned.end(), fetched_.begin(), fetched_.end());
      fetched_.resize(fetch_rows);
    }
    return returned;
  }
}

template class array_statement<std::string>;
template class array_statement<long long>;
template class array_statement<void>;

postgresql_batch_writer::postgresql_batch_writer(soci::session& session)
  : insert_orders_(session, insert_orders_sql(), 15),
    add_notes_(session, add_notes_sql(), 4),
    change_orders_(session, change_orders_sql(), 13),
    insert_attempts_(session, insert_attempts_sql(), 7) {}

std::vector<bool> postgresql_batch_writer::insert(const std::vector<order>& orders) {
  std::vector<std::string> ids, refs, phones, carriers, providers, statuses, errors, ingresses,
    merchants, notify_urls;
  std::vector<long long> amounts, attempts, accepted, deadlines, updated;
  for (const auto& o : orders) {
    ids.push_back(o.id);
    refs.push_back(o.client_ref);
    phones.push_back(o.phone);
    carriers.push_back(o.carrier);
    amounts.push_back(o.amount_fen);
    providers.push_back(o.provider);
    statuses.push_back(std::string{to_string(o.status)});
    attempts.push_back(o.attempts);
    accepted.push_back(o.accepted_at_ms);
    deadlines.push_back(o.deadline_ms);
    updated.push_back(o.updated_at_ms);
    errors.push_back(o.last_error);
    ingresses.push_back(o.ingress);
    merchants.push_back(o.merchant);
    notify_urls.push_back(o.notify_url);
  }
  auto inserted_ids = insert_orders_.run(
    {postgresql_text_array(ids), postgresql_text_array(refs), postgresql_text_array(phones),
     postgresql_text_array(carriers), postgresql_integer_array(amounts),
     postgresql_text_array(providers), postgresql_text_array(statuses),
     postgresql_integer_array(attempts), postgresql_integer_array(accepted),
     postgresql_integer_array(deadlines), postgresql_integer_array(updated),
     postgresql_text_array(errors), postgresql_text_array(ingresses),
     postgresql_text_array(merchants), postgresql_text_array(notify_urls)});
  std::unordered_set<std::string> inserted(inserted_ids.begin(), inserted_ids.end());
  std::vector<bool> result;
  result.reserve(orders.size());
  for (const auto& o : orders)
    result.push_back(inserted.erase(o.id) == 1);
  return result;
}

std::vector<bool> postgresql_batch_writer::apply(const std::vector<transition>& changes) {
  std::vector<bool> applied(changes.size(), false);
  // Illegal changes are refused without a statement, as row by row.
  std::vector<transition> legal;
  std::vector<size_t> legal_positions;
  for (size_t i = 0; i < changes.size(); ++i)
    if (next_status(changes[i].from, changes[i].event)) {
      legal.push_back(changes[i]);
      legal_positions.push_back(i);
    }
  std::vector<bool> legal_applied(legal.size(), false);
  for (const auto& round : rounds_by_order(legal))
    apply_round(legal, round, legal_applied);
  for (size_t i = 0; i < legal.size(); ++i)
    applied[legal_positions[i]] = legal_applied[i];
  return applied;
}

void postgresql_batch_writer::apply_round(const std::vector<transition>& changes,
                                          const std::vector<size_t>& round,
                                          std::vector<bool>& applied) {
  std::vector<std::string> ids, froms, tos, providers, details, owners, entries,
    wrong_carrier_additions;
  std::vector<long long> attempt_nos, at_ms, epochs, positions, attempts_before_each;
  std::vector<std::string> note_ids, note_froms, note_entries;
  std::vector<long long> note_positions;
  for (auto position : round) {
    const auto& change = changes[position];
    auto entry = encode_history_entry(history_entry_of(change));
    if (is_note(change.event)) {
      note_ids.push_back(change.order_id);
      note_froms.push_back(std::string{to_string(change.from)});
      note_entries.push_back(std::move(entry));
      note_positions.push_back(static_cast<long long>(position));
      continue;
    }
    entries.push_back(std::move(entry));
    wrong_carrier_additions.push_back(wrong_carrier_addition(change));
    ids.push_back(change.order_id);
    froms.push_back(std::string{to_string(change.from)});
    tos.push_back(std::string{to_string(*next_status(change.from, change.event))});
    providers.push_back(change.provider);
    details.push_back(change.detail);
    // Only a dispatch is fenced; an empty owner turns the lease check off for the row.
    bool fenced = change.event == order_event::dispatch && !change.lease_owner.empty();
    owners.push_back(fenced ? change.lease_owner : std::string{});
    epochs.push_back(fenced ? change.lease_epoch : 0);
    attempt_nos.push_back(change.attempt_no);
    attempts_before_each.push_back(attempts_before(change));
    at_ms.push_back(change.at_ms);
    positions.push_back(static_cast<long long>(position));
  }
  if (!note_ids.empty()) {
    auto noted = add_notes_.run({postgresql_text_array(note_ids), postgresql_text_array(note_froms),
                                 postgresql_text_array(note_entries),
                                 postgresql_integer_array(note_positions)});
    for (auto position : noted)
      applied[static_cast<size_t>(position)] = true;
  }
  if (ids.empty())
    return;
  auto changed = change_orders_.run(
    {postgresql_text_array(ids), postgresql_text_array(froms), postgresql_text_array(tos),
     postgresql_text_array(providers), postgresql_integer_array(attempt_nos),
     postgresql_integer_array(at_ms), postgresql_text_array(details), postgresql_text_array(owners),
     postgresql_integer_array(epochs), postgresql_integer_array(positions),
     postgresql_text_array(entries), postgresql_text_array(wrong_carrier_additions),
     postgresql_integer_array(attempts_before_each)});

  // The attempt rows of the dispatches applied, as row by row (an outcome writes none: it is
  // the history entry).
  std::vector<std::string> start_ids, start_providers, start_requests, start_nodes;
  std::vector<long long> start_nos, start_at, start_epochs;
  for (auto position : changed) {
    const auto& change = changes.at(static_cast<size_t>(position));
    applied[static_cast<size_t>(position)] = true;
    if (change.event == order_event::dispatch) {
      start_ids.push_back(change.order_id);
      start_nos.push_back(change.attempt_no);
      start_providers.push_back(change.provider);
      start_requests.push_back(change.request_id);
      start_at.push_back(change.at_ms);
      start_nodes.push_back(change.lease_owner);
      start_epochs.push_back(change.lease_epoch);
    }
  }
  if (!start_ids.empty())
    insert_attempts_.run({postgresql_text_array(start_ids), postgresql_integer_array(start_nos),
                          postgresql_text_array(start_providers),
                          postgresql_text_array(start_requests), postgresql_integer_array(start_at),
                          postgresql_text_array(start_nodes),
                          postgresql_integer_array(start_epochs)});
}

} // namespace topup
