# Finds every third-party library topup builds against. CAF 0.17 and SOCI 4.0 ship no CMake
# config files on Debian, so they become imported targets here; a missing one stops the
# configure step naming the Debian package that provides it (scripts/setup installs them all).

find_package(Threads REQUIRED)

function(topup_require var what package)
  if(NOT ${var})
    message(FATAL_ERROR "${what} not found: install the Debian package '${package}' "
                        "(scripts/setup installs every package topup needs)")
  endif()
endfunction()

# topup_imported_library(target location [INCLUDE dir] [LINK libs...])
function(topup_imported_library target location)
  cmake_parse_arguments(arg "" "INCLUDE" "LINK" ${ARGN})
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${location}")
  if(arg_INCLUDE)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${arg_INCLUDE}")
  endif()
  set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${arg_LINK}")
endfunction()

# --- CAF 0.17 (core, io, openssl) ---------------------------------------------------------
find_path(CAF_INCLUDE_DIR NAMES caf/all.hpp)
find_library(CAF_CORE_LIBRARY NAMES caf_core)
find_library(CAF_IO_LIBRARY NAMES caf_io)
find_library(CAF_OPENSSL_LIBRARY NAMES caf_openssl)
topup_require(CAF_INCLUDE_DIR "CAF headers (caf/all.hpp)" libcaf-dev)
topup_require(CAF_CORE_LIBRARY "CAF core library (libcaf_core)" libcaf-dev)
topup_require(CAF_IO_LIBRARY "CAF io library (libcaf_io)" libcaf-dev)
topup_require(CAF_OPENSSL_LIBRARY "CAF openssl library (libcaf_openssl)" libcaf-dev)
if(EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" caf_version_line REGEX "#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" caf_version "${caf_version_line}")
  if(caf_version AND (caf_version LESS 1700 OR caf_version GREATER_EQUAL 1800))
    message(FATAL_ERROR "topup needs CAF 0.17.x, found version code ${caf_version}: install Debian 12's libcaf-dev")
  endif()
endif()

# caf/openssl includes <openssl/ssl.h>, which libcaf-dev does not pull in.
find_package(OpenSSL)
topup_require(OPENSSL_FOUND "OpenSSL development files" libssl-dev)

topup_imported_library(CAF::core "${CAF_CORE_LIBRARY}"
  INCLUDE "${CAF_INCLUDE_DIR}" LINK Threads::Threads)
topup_imported_library(CAF::io "${CAF_IO_LIBRARY}" LINK CAF::core)
topup_imported_library(CAF::openssl "${CAF_OPENSSL_LIBRARY}"
  LINK CAF::io OpenSSL::SSL OpenSSL::Crypto)

# --- SOCI 4.0 (core, sqlite3, postgresql) -------------------------------------------------
find_path(SOCI_INCLUDE_DIR NAMES soci/soci.h)
find_library(SOCI_CORE_LIBRARY NAMES soci_core)
find_library(SOCI_SQLITE3_LIBRARY NAMES soci_sqlite3)
find_library(SOCI_POSTGRESQL_LIBRARY NAMES soci_postgresql)
topup_require(SOCI_INCLUDE_DIR "SOCI headers (soci/soci.h)" libsoci-dev)
topup_require(SOCI_CORE_LIBRARY "SOCI core library (libsoci_core)" libsoci-dev)
topup_require(SOCI_SQLITE3_LIBRARY "SOCI sqlite3 backend (libsoci_sqlite3)" libsoci-dev)
topup_require(SOCI_POSTGRESQL_LIBRARY "SOCI postgresql backend (libsoci_postgresql)" libsoci-dev)

find_package(SQLite3)
topup_require(SQLite3_FOUND "SQLite3 development files" libsqlite3-dev)
find_package(PostgreSQL)
topup_require(PostgreSQL_FOUND "PostgreSQL client development files (libpq-fe.h)" libpq-dev)

topup_imported_library(SOCI::core "${SOCI_CORE_LIBRARY}"
  INCLUDE "${SOCI_INCLUDE_DIR}" LINK Threads::Threads ${CMAKE_DL_LIBS})
topup_imported_library(SOCI::sqlite3 "${SOCI_SQLITE3_LIBRARY}" LINK SOCI::core SQLite::SQLite3)
topup_imported_library(SOCI::postgresql "${SOCI_POSTGRESQL_LIBRARY}"
  LINK SOCI::core PostgreSQL::PostgreSQL)

# --- Broker client of the Redis ingress ----------------------------------------------------
find_path(HIREDIS_INCLUDE_DIR NAMES hiredis/hiredis.h)
find_library(HIREDIS_LIBRARY NAMES hiredis)
topup_require(HIREDIS_INCLUDE_DIR "hiredis headers (hiredis/hiredis.h)" libhiredis-dev)
topup_require(HIREDIS_LIBRARY "hiredis library" libhiredis-dev)
topup_imported_library(hiredis::hiredis "${HIREDIS_LIBRARY}" INCLUDE "${HIREDIS_INCLUDE_DIR}")

# --- Broker client of the RabbitMQ ingress -------------------------------------------------
find_path(RABBITMQ_INCLUDE_DIR NAMES amqp.h)
find_library(RABBITMQ_LIBRARY NAMES rabbitmq)
topup_require(RABBITMQ_INCLUDE_DIR "rabbitmq-c headers (amqp.h)" librabbitmq-dev)
topup_require(RABBITMQ_LIBRARY "rabbitmq-c library (librabbitmq)" librabbitmq-dev)
topup_imported_library(rabbitmq::rabbitmq "${RABBITMQ_LIBRARY}" INCLUDE "${RABBITMQ_INCLUDE_DIR}")

# --- prometheus-cpp: the node's metrics (its core library only: the node serves /metrics on
# its own HTTP listener, not through prometheus-cpp's civetweb exposer). Debian's CMake config
# pulls in civetweb and curl for the pull and push libraries, so the core is found by hand.
find_path(PROMETHEUS_CPP_INCLUDE_DIR NAMES prometheus/registry.h)
find_library(PROMETHEUS_CPP_CORE_LIBRARY NAMES prometheus-cpp-core)
topup_require(PROMETHEUS_CPP_INCLUDE_DIR "prometheus-cpp headers (prometheus/registry.h)"
              prometheus-cpp-dev)
topup_require(PROMETHEUS_CPP_CORE_LIBRARY "prometheus-cpp core library" prometheus-cpp-dev)
topup_imported_library(prometheus-cpp::core "${PROMETHEUS_CPP_CORE_LIBRARY}"
  INCLUDE "${PROMETHEUS_CPP_INCLUDE_DIR}" LINK Threads::Threads)

# jemalloc: the engine allocates many small, short-lived objects (messages, orders) on
# several threads; glibc malloc spent about a third of the node's CPU on them under load.
find_library(JEMALLOC_LIBRARY NAMES jemalloc)
topup_require(JEMALLOC_LIBRARY "jemalloc (libjemalloc)" libjemalloc-dev)
topup_imported_library(jemalloc::jemalloc "${JEMALLOC_LIBRARY}")

# --- libsystemd: topup-node's sd_notify (READY, STOPPING, WATCHDOG) -----------------------
find_path(SYSTEMD_INCLUDE_DIR NAMES systemd/sd-daemon.h)
find_library(SYSTEMD_LIBRARY NAMES systemd)
topup_require(SYSTEMD_INCLUDE_DIR "libsystemd headers (systemd/sd-daemon.h)" libsystemd-dev)
topup_require(SYSTEMD_LIBRARY "libsystemd" libsystemd-dev)
topup_imported_library(systemd::systemd "${SYSTEMD_LIBRARY}" INCLUDE "${SYSTEMD_INCLUDE_DIR}")

# --- Packages that ship CMake config files -------------------------------------------------
find_package(nlohmann_json 3.10 QUIET)
topup_require(nlohmann_json_FOUND "nlohmann_json (>= 3.10)" nlohmann-json3-dev)
find_package(Boost 1.74 QUIET COMPONENTS unit_test_framework)
topup_require(Boost_FOUND "Boost.Test (>= 1.74)" libboost-test-dev)
find_package(CLI11 QUIET)
topup_require(CLI11_FOUND "CLI11" libcli11-dev)
find_package(spdlog QUIET)
topup_require(spdlog_FOUND "spdlog" libspdlog-dev)
