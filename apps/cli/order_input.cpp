#include "apps/cli/order_input.hpp"

#include "domain/amount.hpp"
#include "domain/csv.hpp"
#include "domain/order_json.hpp"
#include "domain/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <istream>
#include <variant>

namespace topup::cli {
namespace {

constexpr std::array<std::string_view, 3> column_names{"client_ref", "phone", "amount_fen"};
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
constexpr std::string_view blanks = " \t";

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

bool is_blank(std::string_view line) {
  return trim(line).empty();
}

bool is_comment(std::string_view line) {
  auto text = trim(line);
  return !text.empty() && text.front() == '#';
}

std::string join_column_names() {
  return join_names({column_names.begin(), column_names.end()});
}

/// The reader of one input: keeps the format, the CSV column layout and the results.
class reader {
public:
  explicit reader(input_format format) {
    result_.format = format;
  }

  void feed(size_t line_no, std::string_view line) {
    if (line_no == 1 && line.substr(0, utf8_bom.size()) == utf8_bom)
      line.remove_prefix(utf8_bom.size());
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (is_blank(line))
      return;
    if (result_.format == input_format::auto_detect) {
      if (is_comment(line))
        return;
      result_.format = trim(line).front() == '{' ? input_format::jsonl : input_format::csv;
    }
    if (result_.format == input_format::jsonl)
      read_json_line(line_no, line);
    else if (!is_comment(line))
      read_csv_line(line_no, line);
  }

  order_input take() {
    return std::move(result_);
  }

private:
  void problem(size_t line_no, std::string message) {
    result_.problems.push_back({line_no, std::move(message)});
  }

  void read_csv_line(size_t line_no, std::string_view line) {
    auto split = split_csv_line(line);
    if (auto why = std::get_if<std::string>(&split)) {
      problem(line_no, *why);
      return;
    }
    auto& fields = std::get<std::vector<std::string>>(split);
    if (!layout_decided_) {
      layout_decided_ = true;
      if (read_csv_header(line_no, fields))
        return;
    }
    if (failed_header_)
      return;
    if (fields.size() != columns_.size()) {
      problem(line_no, "expected " + std::to_string(columns_.size()) + " fields ("
                         + join_column_names() + "), found " + std::to_string(fields.size()));
      return;
    }
    numbered_request numbered{line_no, {}};
    auto& request = numbered.request;
    for (size_t i = 0; i < fields.size(); ++i) {
      auto& value = fields[i];
      switch (columns_[i]) {
        case 0:
          request.client_ref = std::move(value);
          break;
        case 1:
          request.phone = std::move(value);
          break;
        default:
          if (!take_amount(line_no, "amount_fen", parse_amount(value), request))
            return;
      }
    }
    result_.orders.push_back(std::move(numbered));
  }

  /// Takes the amount read by the one amount parser, or reports why it is not one.
  bool take_amount(size_t line_no, std::string_view field, const amount_result& amount,
                   order_request& request) {
    if (auto refused = std::get_if<failure>(&amount)) {
      problem(line_no, std::string{field} + ": " + refused->describe());
      return false;
    }
    request.amount_fen = std::get<int64_t>(amount);
    return true;
  }

  /// True if `fields` is a header (problems in it are reported); false for a data line.
  bool read_csv_header(size_t line_no, const std::vector<std::string>& fields) {
    bool names_a_column = false;
    bool has_digit = false;
    for (const auto& field : fields) {
      for (auto name : column_names)
        names_a_column |= field == name;
      has_digit |= field.find_first_of("0123456789") != std::string::npos;
    }
    if (!names_a_column && has_digit)
      return false;  // data; the columns stay in their default order
    auto layout = topup::read_csv_header(fields, {column_names.begin(), column_names.end()});
    if (auto trouble = std::get_if<std::string>(&layout)) {
      problem(line_no, "bad header: " + *trouble + "; expected the columns "
                         + join_column_names() + " (in any order)");
      // Reading the data with a guessed layout would only add confusing errors.
      failed_header_ = true;
      return true;
    }
    columns_ = std::move(std::get<csv_columns>(layout).of_field);
    return true;
  }

  void read_json_line(size_t line_no, std::string_view line) {
    auto parsed = parse_order_json(line);
    if (auto refused = std::get_if<failure>(&parsed)) {
      problem(line_no, refused->describe());
      return;
    }
    result_.orders.push_back({line_no, std::move(std::get<order_request>(parsed))});
  }

  order_input result_;
  bool layout_decided_ = false;
  bool failed_header_ = false;
  std::vector<size_t> columns_{0, 1, 2};  ///< index into column_names, per CSV field
};

} // namespace

std::string_view to_string(input_format format) {
  switch (format) {
    case input_format::auto_detect: return "auto";
    case input_format::csv: return "csv";
    case input_format::jsonl: return "jsonl";
  }
  return "auto";
}

std::optional<input_format> input_format_from_string(std::string_view name) {
  for (auto format : {input_format::auto_detect, input_format::csv, input_format::jsonl})
    if (to_string(format) == name)
      return format;
  return std::nullopt;
}

order_input read_orders(std::istream& in, input_format format) {
  reader lines{format};
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no)
    lines.feed(line_no, line);
  return lines.take();
}

} // namespace topup::cli
