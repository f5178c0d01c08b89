# Writes the console page INPUT into OUTPUT as a C++ source defining
# topup::console_api::page_html(), so that the node serves it with no file beside it.
file(READ ${INPUT} page)
string(FIND "${page}" ")console_page\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string's closing delimiter")
endif()
file(WRITE ${OUTPUT}.tmp
  "// Generated from api/console/console.html by api/console/embed.cmake; do not edit.\n"
  "#include \"api/console_api.hpp\"\n\n"
  "namespace topup::console_api {\n\n"
  "std::string_view page_html() {\n"
  "  static constexpr std::string_view page = R\"console_page(${page})console_page\";\n"
  "  return page;\n"
  "}\n\n"
  "} // namespace topup::console_api\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
