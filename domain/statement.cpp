#include "domain/statement.hpp"

#include "domain/amount.hpp"
#include "domain/civil_time.hpp"
#include "domain/csv.hpp"
#include "domain/text.hpp"

#include <istream>
#include <optional>
#include <variant>

namespace topup {
namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
constexpr size_t longest_id = 128;     ///< characters of request_id, order_id, provider_txn
constexpr size_t longest_phone = 32;   ///< characters, as intake's limit
constexpr size_t longest_line = 65536; ///< bytes

enum column : size_t { request_id, order_id, phone, amount_fen, status, provider_txn, time };

std::string shown(std::string_view value) {
  return "'" + text::printable(value, 40) + "'";
}

/// Why a text field is not acceptable, if it is not: valid UTF-8, no control character, at
/// most `longest` characters.
std::optional<std::string> text_problem(std::string_view value, size_t longest) {
  if (text::first_invalid_byte(value))
    return std::string{"not valid UTF-8"};
  for (size_t pos = 0; pos < value.size();) {
    auto decoded = text::decode_at(value, pos);
    if (decoded.code_point && text::is_control(*decoded.code_point))
      return "holds the control character " + text::code_point_name(*decoded.code_point);
    pos += decoded.width;
  }
  if (text::characters(value) > longest)
    return "longer than " + std::to_string(longest) + " characters";
  return std::nullopt;
}

/// The reader of one statement: the header, then each row.
class reader {
public:
  void feed(size_t line_no, std::string_view line) {
    if (line_no == 1 && line.substr(0, utf8_bom.size()) == utf8_bom)
      line.remove_prefix(utf8_bom.size());
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty()) {
      blank_lines_.push_back(line_no);
      return;
    }
    // A blank line is only acceptable at the end of the file.
    for (auto blank : blank_lines_)
      problem(blank, "blank line (a statement has one row per line, no gaps)");
    blank_lines_.clear();
    if (line.size() > longest_line) {
      problem(line_no, "longer than " + std::to_string(longest_line) + " bytes");
      return;
    }
    auto split = split_csv_line(line);
    if (auto why = std::get_if<std::string>(&split)) {
      problem(line_no, *why);
      if (!columns_ && !header_failed_)
        header_failed_ = true;
      return;
    }
    auto& fields = std::get<std::vector<std::string>>(split);
    if (!columns_ && !header_failed_) {
      read_header(line_no, fields);
      return;
    }
    if (header_failed_)
      return;  // a row read with a guessed layout would only add confusing problems
    read_row(line_no, fields);
  }

  statement finish(size_t lines) {
    if (!columns_ && !header_failed_)
      problem(lines == 0 ? 1 : lines, "empty statement: no header line ("
                                        + join_names(statement_columns) + ")");
    return std::move(result_);
  }

private:
  void problem(size_t line_no, std::string message) {
    result_.problems.push_back({line_no, std::move(message)});
  }

  void read_header(size_t line_no, const std::vector<std::string>& fields) {
    auto layout = read_csv_header(fields, statement_columns, {"phone"});
    if (auto trouble = std::get_if<std::string>(&layout)) {
      problem(line_no, "bad header: " + *trouble + "; expected the columns "
                         + join_names(statement_columns) + " (in any order; phone optional)");
      header_failed_ = true;
      return;
    }
    columns_ = std::move(std::get<csv_columns>(layout));
  }

  /// The field of `name` in `fields`; empty when the header leaves the column out.
  const std::string& field(const std::vector<std::string>& fields, column name) const {
    static const std::string none;
    auto at = columns_->of_name[name];
    return at ? fields[*at] : none;
  }

  void read_row(size_t line_no, const std::vector<std::string>& fields) {
    if (fields.size() != columns_->of_field.size()) {
      problem(line_no, "expected " + std::to_string(columns_->of_field.size())
                         + " fields as in the header, found " + std::to_string(fields.size()));
      return;
    }
    statement_row row;
    row.line = line_no;
    bool ok = true;
    auto bad = [&](std::string_view name, const std::string& why) {
      problem(line_no, std::string{name} + ": " + why);
      ok = false;
    };
    auto text_field = [&](column name, std::string_view label, size_t longest, bool required,
                          std::string& into) {
      const auto& value = field(fields, name);
      if (auto why = text_problem(value, longest))
        bad(label, *why);
      else if (required && value.empty())
        bad(label, "empty");
      else
        into = value;
    };
    text_field(request_id, "request_id", longest_id, true, row.request_id);
    text_field(order_id, "order_id", longest_id, true, row.order_id);
    text_field(phone, "phone", longest_phone, false, row.phone);
    text_field(provider_txn, "provider_txn", longest_id, false, row.provider_txn);

    auto amount = parse_amount(field(fields, amount_fen));
    if (auto refused = std::get_if<failure>(&amount))
      bad("amount_fen", refused->reason);
    else if (std::get<int64_t>(amount) == 0)
      bad("amount_fen", "0 fen: a request is for more than nothing");
    else
      row.amount_fen = std::get<int64_t>(amount);

    const auto& status_text = field(fields, status);
    if (status_text == "success")
      row.status = statement_status::success;
    else if (status_text == "failed")
      row.status = statement_status::failed;
    else
      bad("status", shown(status_text) + " is neither success nor failed");
    if (ok && row.status == statement_status::success && row.provider_txn.empty())
      bad("provider_txn", "empty for a success (a recharge has a transaction)");

    const auto& time_text = field(fields, time);
    auto read = read_iso_time(time_text);
    if (auto why = std::get_if<std::string>(&read)) {
      bad("time", shown(time_text) + ": " + *why);
    } else {
      const auto& at = std::get<iso_time>(read);
      if (!at.has_seconds)
        bad("time", shown(time_text) + ": needs a time of day with seconds");
      else if (!at.utc_offset_minutes)
        bad("time", shown(time_text) + ": needs a zone, Z or an offset such as +08:00");
      else
        row.at_ms = epoch_ms_at_offset(at.fields, *at.utc_offset_minutes);
    }
    if (ok)
      result_.rows.push_back(std::move(row));
  }

  statement result_;
  std::optional<csv_columns> columns_;
  bool header_failed_ = false;
  std::vector<size_t> blank_lines_;
};

} // namespace

std::string_view to_string(statement_status status) {
  return status == statement_status::success ? "success" : "failed";
}

statement read_statement(std::istream& in) {
  reader rows;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line))
    rows.feed(++line_no, line);
  return rows.finish(line_no);
}

std::string statement_header() {
  return join_names(statement_columns);
}

std::string statement_line(const statement_row& row) {
  return csv_line({row.request_id, row.order_id, row.phone, std::to_string(row.amount_fen),
                   std::string{to_string(row.status)}, row.provider_txn,
                   format_rfc3339_utc(row.at_ms)});
}

} // namespace topup
