# packaging/CPackConfig.cmake: CPack's settings for the four packages, one
# per install component (packaging/CMakeLists.txt), as .deb and .rpm.
# Included at configure time; CPackProjectConfig.cmake runs at cpack time
# and sets the version from git then (version.cmake), so packages built
# after a commit without reconfiguring still name the right revision.

set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_PACKAGE_NAME "fjord")
set(CPACK_PACKAGE_VENDOR "Fjord")
set(CPACK_PACKAGE_CONTACT "Fjord developers <fjord-dev@fjord.invalid>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/packages")
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/CPackProjectConfig.cmake")
set(CPACK_FJORD_SOURCE_DIR "${PROJECT_SOURCE_DIR}")
set(CPACK_FJORD_PACKAGING_DIR "${CMAKE_CURRENT_LIST_DIR}")
# Packages carry stripped binaries (the build tree keeps the symbols).
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli controller broker)
if(FJORD_PACKAGE_FIPS)
  list(APPEND CPACK_COMPONENTS_ALL fips)
endif()
set(CPACK_PACKAGE_HOMEPAGE_URL "")

set(summary_cli "command line of the Fjord streaming control plane")
set(summary_controller "Fjord controller: a member of the Raft-replicated control plane")
set(summary_broker "Fjord broker: the Kafka API, enforcing the controller's decisions")
set(summary_fips "OpenSSL FIPS provider and configuration for Fjord's FIPS mode")
set(desc_cli "fjord talks gRPC to the Fjord controllers and the Kafka API to brokers.
It creates and configures topics, ACLs, SASL users and roles, shadow links and
cluster config, with JSON and YAML output for scripts; manual pages and bash,
zsh and fish completions are generated from its command tree.")
set(desc_controller "fjord-controller is one member of the Raft group that owns every
cluster-wide decision of a Fjord cluster. The package ships a default
single-host config in /etc/fjord/controller.yaml, the hardened systemd units
fjord-controller.service and fjord-controller@.service, and keeps its data in
/var/lib/fjord/controller; it runs as the system user fjord.")
set(desc_broker "fjord-broker speaks the Kafka wire protocol to ordinary Kafka clients
and follows the controllers' decisions. The package ships a default config in
/etc/fjord/broker.yaml pointing at a controller on this host, the hardened
systemd units fjord-broker.service and fjord-broker@.service, and keeps its
data in /var/lib/fjord/broker; it runs as the system user fjord.")
set(desc_fips "OpenSSL's FIPS provider (fips.so, built from Debian's OpenSSL source;
not a CMVP-validated binary) in /usr/lib/fjord/ossl-modules and the OpenSSL
configuration /etc/fjord/fips/openssl.cnf that Fjord daemons name in FIPS
mode. Installing it runs openssl fipsinstall to write fipsmodule.cnf.")

# ---- .deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME "fjord")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME "fjord-controller")
set(CPACK_DEBIAN_BROKER_PACKAGE_NAME "fjord-broker")
set(CPACK_DEBIAN_FIPS_PACKAGE_NAME "fjord-fips")
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION "admin")
# librdkafka is dlopen()ed by `topic produce|consume` (cli/kafka/rdkafka.h),
# so dpkg-shlibdeps cannot see it.
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "librdkafka1")
# adduser and the systemd helpers are what the maintainer scripts call.
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_BROKER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_SUGGESTS "fjord, fjord-fips")
set(CPACK_DEBIAN_BROKER_PACKAGE_SUGGESTS "fjord, fjord-fips")
set(CPACK_DEBIAN_FIPS_PACKAGE_DEPENDS "openssl, libssl3 (>= 3.0.0)")
foreach(comp cli controller broker fips)
  string(TOUPPER ${comp} C)
  set(CPACK_COMPONENT_${C}_DESCRIPTION "${summary_${comp}}\n${desc_${comp}}")
  set(CPACK_RPM_${C}_PACKAGE_SUMMARY "${summary_${comp}}")
  set(CPACK_RPM_${C}_PACKAGE_DESCRIPTION "${desc_${comp}}")
endforeach()
foreach(comp controller broker)
  string(TOUPPER ${comp} C)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${comp})
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA
      "${gen}/deb/conffiles;${gen}/deb/postinst;${gen}/deb/prerm;${gen}/deb/postrm")
  set(CPACK_RPM_${C}_PRE_INSTALL_SCRIPT_FILE "${gen}/rpm/pre")
  set(CPACK_RPM_${C}_POST_INSTALL_SCRIPT_FILE "${gen}/rpm/post")
  set(CPACK_RPM_${C}_PRE_UNINSTALL_SCRIPT_FILE "${gen}/rpm/preun")
  set(CPACK_RPM_${C}_POST_UNINSTALL_SCRIPT_FILE "${gen}/rpm/postun")
  set(CPACK_RPM_${C}_USER_FILELIST "%config(noreplace) %attr(0640,root,fjord) /etc/fjord/${comp}.yaml")
  set(CPACK_RPM_${C}_PACKAGE_REQUIRES_PRE "shadow-utils")
endforeach()
# Control files keep their names: deb/fips/{conffiles,postinst,postrm}.
set(fips_deb ${CMAKE_CURRENT_LIST_DIR}/deb/fips)
set(CPACK_DEBIAN_FIPS_PACKAGE_CONTROL_EXTRA
    "${fips_deb}/conffiles;${fips_deb}/postinst;${fips_deb}/postrm")
set(CPACK_RPM_FIPS_POST_INSTALL_SCRIPT_FILE "${CMAKE_CURRENT_LIST_DIR}/rpm/fips-post")
set(CPACK_RPM_FIPS_POST_UNINSTALL_SCRIPT_FILE "${CMAKE_CURRENT_LIST_DIR}/rpm/fips-postun")
set(CPACK_RPM_FIPS_USER_FILELIST "%config(noreplace) /etc/fjord/fips/openssl.cnf")
set(CPACK_RPM_FIPS_PACKAGE_REQUIRES "openssl")

# ---- .rpm
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
# Files in /etc and units in /usr/lib/systemd cannot move: not relocatable.
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_URL "")
set(CPACK_RPM_CLI_PACKAGE_NAME "fjord")
set(CPACK_RPM_CONTROLLER_PACKAGE_NAME "fjord-controller")
set(CPACK_RPM_BROKER_PACKAGE_NAME "fjord-broker")
set(CPACK_RPM_FIPS_PACKAGE_NAME "fjord-fips")
# Directories the distribution owns (the filesystem package and systemd):
# never claimed by these packages.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc/fjord /usr/lib/systemd /usr/lib/systemd/system /usr/share/man /usr/share/man/man1
    /usr/share/man/man8 /usr/share/bash-completion /usr/share/bash-completion/completions
    /usr/share/zsh /usr/share/zsh/vendor-completions /usr/share/fish
    /usr/share/fish/vendor_completions.d /usr/share/lintian /usr/share/lintian/overrides
    /usr/share/doc /usr/lib/fjord)
# Debian's rpmbuild has no debuginfo macros for this; the binaries are stripped.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none\n%undefine __brp_mangle_shebangs")

include(CPack)
