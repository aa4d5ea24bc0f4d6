# packaging/CPackProjectConfig.cmake: read by cpack for each generator
# (CPACK_PROJECT_CONFIG_FILE): the version of every package from the tree as
# it is now (version.cmake), so a .deb and an .rpm built together agree:
#   deb  Version: 0.1.0~git<N>.<sha>        (0.1.0 at the tag v0.1.0)
#   rpm  Version: 0.1.0  Release: 0.git<N>.<sha>  (Release 1 at the tag)
include("${CPACK_FJORD_PACKAGING_DIR}/version.cmake")
fjord_package_version("${CPACK_FJORD_SOURCE_DIR}" "${CPACK_PACKAGE_VERSION}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${FJORD_DEB_VERSION}")
set(CPACK_RPM_PACKAGE_RELEASE "${FJORD_RPM_RELEASE}")
