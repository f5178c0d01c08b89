#include "persistence/postgresql_batch.hpp"

#include "domain/order_state_machine.hpp"
#include "persistence/lease_store.hpp"
#include "persistence/order_store.hpp"

#include <soci/soci.h>

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

postgresql_batch_writer::postgresql_batch_writer(soci::session& session)
  : session_(session),
    now_ms_(database_now_ms_sql(store_config::backend_kind::postgresql)) {}

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
  auto id_array = postgresql_text_array(ids), ref_array = postgresql_text_array(refs),
       phone_array = postgresql_text_array(phones),
       carrier_array = postgresql_text_array(carriers),
       amount_array = postgresql_integer_array(amounts),
       provider_array = postgresql_text_array(providers),
       status_array = postgresql_text_array(statuses),
       attempt_array = postgresql_integer_array(attempts),
       accepted_array = postgresql_integer_array(accepted),
       deadline_array = postgresql_integer_array(deadlines),
       updated_array = postgresql_integer_array(updated),
       error_array = postgresql_text_array(errors),
       ingress_array = postgresql_text_array(ingresses),
       merchant_array = postgresql_text_array(merchants),
       notify_url_array = postgresql_text_array(notify_urls);
  // A (merchant, client reference) seen twice in the batch: the first row is inserted, the second
  // conflicts with it and is skipped, as row by row.
  soci::rowset<std::string> inserted_ids =
    (session_.prepare
       << "INSERT INTO orders (id, client_ref, phone, carrier, amount_fen, provider, status,"
          " attempts, accepted_at_ms, deadline_ms, updated_at_ms, last_error, ingress, merchant,"
          " notify_url)"
          " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:refs AS text[]),"
          " CAST(:phones AS text[]), CAST(:carriers AS text[]), CAST(:amounts AS bigint[]),"
          " CAST(:providers AS text[]), CAST(:statuses AS text[]),"
          " CAST(:attempts AS integer[]), CAST(:accepted AS bigint[]),"
          " CAST(:deadlines AS bigint[]), CAST(:updated AS bigint[]), CAST(:errors AS text[]),"
          " CAST(:ingresses AS text[]), CAST(:merchants AS text[]),"
          " CAST(:notify_urls AS text[]))"
          " ON CONFLICT (merchant, client_ref) DO NOTHING RETURNING id",
     soci::use(id_array), soci::use(ref_array), soci::use(phone_array),
     soci::use(carrier_array), soci::use(amount_array), soci::use(provider_array),
     soci::use(status_array), soci::use(attempt_array), soci::use(accepted_array),
     soci::use(deadline_array), soci::use(updated_array), soci::use(error_array),
     soci::use(ingress_array), soci::use(merchant_array), soci::use(notify_url_array));
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
  std::vector<long long> attempt_nos, at_ms, epochs, positions;
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
    at_ms.push_back(change.at_ms);
    positions.push_back(static_cast<long long>(position));
  }
  auto id_array = postgresql_text_array(ids), from_array = postgresql_text_array(froms),
       to_array = postgresql_text_array(tos), provider_array = postgresql_text_array(providers),
       attempt_array = postgresql_integer_array(attempt_nos),
       at_array = postgresql_integer_array(at_ms), detail_array = postgresql_text_array(details),
       owner_array = postgresql_text_array(owners), epoch_array = postgresql_integer_array(epochs),
       position_array = postgresql_integer_array(positions),
       entry_array = postgresql_text_array(entries),
       wrong_carrier_array = postgresql_text_array(wrong_carrier_additions);
  if (!note_ids.empty()) {
    // Notes add to the history alone.
    auto note_id_array = postgresql_text_array(note_ids),
         note_from_array = postgresql_text_array(note_froms),
         note_entry_array = postgresql_text_array(note_entries),
         note_position_array = postgresql_integer_array(note_positions);
    soci::rowset<long long> noted =
      (session_.prepare << "UPDATE orders AS o SET history = o.history || v.entry"
                           " FROM unnest(CAST(:ids AS text[]), CAST(:froms AS text[]),"
                           " CAST(:entries AS text[]), CAST(:positions AS bigint[]))"
                           " AS v(id, from_status, entry, position)"
                           " WHERE o.id = v.id AND o.status = v.from_status RETURNING v.position",
       soci::use(note_id_array), soci::use(note_from_array), soci::use(note_entry_array),
       soci::use(note_position_array));
    for (auto position : noted)
      applied[static_cast<size_t>(position)] = true;
  }
  if (ids.empty())
    return;
  // The same update as row by row, and the same fence: FOR SHARE keeps a takeover waiting
  // until this transaction, which passed the check, has committed.
  soci::rowset<long long> changed =
    (session_.prepare
       << "UPDATE orders AS o SET status = v.to_status,"
          " provider = CASE WHEN v.provider = '' THEN o.provider ELSE v.provider END,"
          " attempts = GREATEST(o.attempts, v.attempt_no),"
          " updated_at_ms = v.at_ms, last_error = v.detail, history = o.history || v.entry,"
          " wrong_carrier_at = o.wrong_carrier_at || v.wrong_carrier"
          " FROM unnest(CAST(:ids AS text[]), CAST(:froms AS text[]), CAST(:tos AS text[]),"
          " CAST(:providers AS text[]), CAST(:attempts AS integer[]), CAST(:ats AS bigint[]),"
          " CAST(:details AS text[]), CAST(:owners AS text[]), CAST(:epochs AS bigint[]),"
          " CAST(:positions AS bigint[]), CAST(:entries AS text[]),"
          " CAST(:wrong_carrier AS text[]))"
          " AS v(id, from_status, to_status, provider, attempt_no, at_ms, detail,"
          " lease_owner, lease_epoch, position, entry, wrong_carrier)"
          " WHERE o.id = v.id AND o.status = v.from_status"
          " AND (v.lease_owner = '' OR EXISTS (SELECT 1 FROM provider_leases l"
          " WHERE l.provider = v.provider AND l.owner = v.lease_owner"
          " AND l.epoch = v.lease_epoch AND l.expires_at_ms > "
       << now_ms_ << " FOR SHARE))"
          " RETURNING v.position",
     soci::use(id_array), soci::use(from_array), soci::use(to_array), soci::use(provider_array),
     soci::use(attempt_array), soci::use(at_array), soci::use(detail_array),
     soci::use(owner_array), soci::use(epoch_array), soci::use(position_array),
     soci::use(entry_array), soci::use(wrong_carrier_array));

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
  if (!start_ids.empty()) {
    auto ids_text = postgresql_text_array(start_ids), nos = postgresql_integer_array(start_nos),
         provider_text = postgresql_text_array(start_providers),
         request_text = postgresql_text_array(start_requests),
         at_text = postgresql_integer_array(start_at),
         node_text = postgresql_text_array(start_nodes),
         epoch_text = postgresql_integer_array(start_epochs);
    session_ << "INSERT INTO attempts (order_id, attempt_no, provider, request_id, started_at_ms,"
                " node, epoch)"
                " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:nos AS integer[]),"
                " CAST(:providers AS text[]), CAST(:requests AS text[]), CAST(:ats AS bigint[]),"
                " CAST(:nodes AS text[]), CAST(:epochs AS bigint[]))",
      soci::use(ids_text), soci::use(nos), soci::use(provider_text), soci::use(request_text),
      soci::use(at_text), soci::use(node_text), soci::use(epoch_text);
  }
}

} // namespace topup
