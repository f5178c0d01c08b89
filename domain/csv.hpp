#pragma once

// CSV as topup reads and writes it (RFC 4180): the order files of topup-cli submit, the
// statements providers supply for reconciliation and the reports it writes. Every field is
// taken exactly as written: blanks around a comma are part of the field. A field may be
// quoted with double quotes (to hold a comma or a quote, written twice); quoted fields never
// span lines here, since no value topup reads holds a line break.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace topup {

/// Splits one line (without its line break) into its fields, or returns a sentence saying
/// what is wrong with the quoting. A field that starts with a quote is quoted: it ends at the
/// closing quote, which a comma or the end of the line must follow.
std::variant<std::vector<std::string>, std::string> split_csv_line(std::string_view line);

/// `value` as one CSV field: quoted (and its quotes doubled) when it holds a comma, a quote,
/// a line break or a blank at either end; as it is otherwise.
std::string csv_field(std::string_view value);

/// One CSV line of `fields`, without the line break.
std::string csv_line(const std::vector<std::string>& fields);

/// The column layout a header line names.
struct csv_columns {
  /// For each field of the header, its index in the known names.
  std::vector<size_t> of_field;
  /// For each known name, the field it is in; nothing when the header leaves it out.
  std::vector<std::optional<size_t>> of_name;
};

/// Reads a header: each field must be one of `names`, each name at most once, and every
/// name not in `optional_names` must be there. Returns the layout, or the first trouble:
/// "unknown column 'x'", "column 'x' appears twice", "missing column 'x'".
std::variant<csv_columns, std::string> read_csv_header(
  const std::vector<std::string>& fields, const std::vector<std::string_view>& names,
  const std::vector<std::string_view>& optional_names = {});

/// "a,b,c": the names joined for messages.
std::string join_names(const std::vector<std::string_view>& names);

} // namespace topup
