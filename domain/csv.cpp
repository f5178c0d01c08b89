#include "domain/csv.hpp"

#include "domain/text.hpp"

#include <algorithm>

namespace topup {
namespace {

/// A value of the input as a message may quote it.
std::string shown_value(std::string_view value) {
  return "'" + text::printable(value, 40) + "'";
}

} // namespace

std::variant<std::vector<std::string>, std::string> split_csv_line(std::string_view line) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (true) {
    std::string field;
    if (pos < line.size() && line[pos] == '"') {
      auto opened_at = pos + 1;
      ++pos;
      bool closed = false;
      while (pos < line.size()) {
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            field += '"';
            pos += 2;
            continue;
          }
          ++pos;
          closed = true;
          break;
        }
        field += line[pos++];
      }
      if (!closed)
        return "the quote opened at column " + std::to_string(opened_at) + " is not closed";
      if (pos < line.size() && line[pos] != ',')
        return "unexpected text after the quoted field ending before column "
               + std::to_string(pos + 1) + " (a comma must follow the closing quote)";
    } else {
      auto comma = line.find(',', pos);
      auto raw = line.substr(pos, comma == std::string_view::npos ? line.size() - pos
                                                                   : comma - pos);
      if (raw.find('"') != std::string_view::npos)
        return "a quote inside an unquoted field (column " + std::to_string(pos + 1)
               + "); quote the whole field and double the quote";
      field = std::string{raw};
      pos += raw.size();
    }
    fields.push_back(std::move(field));
    if (pos >= line.size())
      return fields;
    ++pos;  // the comma
  }
}

std::string csv_field(std::string_view value) {
  bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos
               || (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote)
    return std::string{value};
  std::string field = "\"";
  for (char c : value) {
    if (c == '"')
      field += '"';
    field += c;
  }
  return field + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      line += ',';
    line += csv_field(fields[i]);
  }
  return line;
}

std::variant<csv_columns, std::string> read_csv_header(
  const std::vector<std::string>& fields, const std::vector<std::string_view>& names,
  const std::vector<std::string_view>& optional_names) {
  csv_columns columns;
  columns.of_name.resize(names.size());
  for (size_t field = 0; field < fields.size(); ++field) {
    auto known = std::find(names.begin(), names.end(), fields[field]);
    if (known == names.end())
      return "unknown column " + shown_value(fields[field]);
    auto index = static_cast<size_t>(known - names.begin());
    if (columns.of_name[index])
      return "column " + shown_value(fields[field]) + " appears twice";
    columns.of_name[index] = field;
    columns.of_field.push_back(index);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    bool optional =
      std::find(optional_names.begin(), optional_names.end(), names[i]) != optional_names.end();
    if (!columns.of_name[i] && !optional)
      return "missing column '" + std::string{names[i]} + "'";
  }
  return columns;
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string text;
  for (auto name : names) {
    if (!text.empty())
      text += ",";
    text += name;
  }
  return text;
}

} // namespace topup
