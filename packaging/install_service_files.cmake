# Runs at install time (`cmake --install`, and CPack's staging install): writes the example
# configuration and the systemd unit where this install's prefix puts them. The configuration
# goes to /etc/topup when the prefix is /usr (GNUInstallDirs' rule, applied here because the
# Debian package chooses its prefix only when CPack installs), else to PREFIX/etc/topup. The
# unit names the installed binaries and configuration.
#
# Set by the caller (install(CODE)): TOPUP_SOURCE_DIR, TOPUP_STAGING_DIR (a folder of the
# build), TOPUP_BINDIR, TOPUP_SYSCONFDIR, TOPUP_DOCDIR, TOPUP_UNITDIR (relative to the prefix,
# as GNUInstallDirs gives them).

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc_dir "/etc/topup")
else()
  set(etc_dir "${CMAKE_INSTALL_PREFIX}/${TOPUP_SYSCONFDIR}/topup")
endif()
set(TOPUP_CONFIG "${etc_dir}/node.json")
set(TOPUP_BIN_DIR "${CMAKE_INSTALL_PREFIX}/${TOPUP_BINDIR}")
set(TOPUP_DOC_DIR "${CMAKE_INSTALL_PREFIX}/${TOPUP_DOCDIR}")
set(TOPUP_ARCHIVE_DIR "/var/lib/topup/archive")

set(staging "${TOPUP_STAGING_DIR}")
file(MAKE_DIRECTORY "${staging}")

# The example configuration is config/single-node.json with its files in the service's
# state directory (/var/lib/topup) rather than in a var/ folder beside a build.
file(READ "${TOPUP_SOURCE_DIR}/config/single-node.json" example)
string(REPLACE "\"var/" "\"/var/lib/topup/" example "${example}")
file(WRITE "${staging}/node.json" "${example}")

foreach(unit topup-node.service topup-archive.service topup-archive.timer)
  configure_file("${TOPUP_SOURCE_DIR}/packaging/${unit}.in" "${staging}/${unit}" @ONLY)
endforeach()

file(INSTALL DESTINATION "${etc_dir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
     FILES "${staging}/node.json")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/${TOPUP_UNITDIR}" TYPE FILE
     FILES "${staging}/topup-node.service" "${staging}/topup-archive.service"
           "${staging}/topup-archive.timer")
