# FindCAF — locate the C++ Actor Framework 0.17 as shipped by Debian (libcaf-dev).
#
# Debian's CAF 0.17.6 installs neither a CMake package config nor a pkg-config
# file, so this module finds the headers and libraries itself and exposes the
# imported targets CAF 0.18+ exports upstream, so that code written against
# them keeps working when a newer CAF is used:
#   CAF::core   libcaf_core
#   CAF::io     libcaf_io (links CAF::core)
#   CAF::openssl  libcaf_openssl, BASP over TLS (links CAF::io and OpenSSL::SSL);
#               an optional component: made when the library, its headers and
#               OpenSSL are there, required only with COMPONENTS openssl.
# Result variables: CAF_FOUND, CAF_VERSION, CAF_INCLUDE_DIR, CAF_openssl_FOUND.
find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp)
find_library(CAF_CORE_LIBRARY NAMES caf_core)
find_library(CAF_IO_LIBRARY NAMES caf_io)
find_library(CAF_OPENSSL_LIBRARY NAMES caf_openssl)

# The openssl component: caf/openssl/session.hpp includes <openssl/ssl.h>, so
# users of CAF::openssl need OpenSSL's headers and libssl as well.
set(CAF_openssl_FOUND FALSE)
if(CAF_OPENSSL_LIBRARY AND EXISTS "${CAF_OPENSSL_LIBRARY}"
   AND EXISTS "${CAF_INCLUDE_DIR}/caf/openssl/manager.hpp")
  if(NOT TARGET OpenSSL::SSL)
    find_package(OpenSSL QUIET COMPONENTS SSL Crypto)
  endif()
  if(TARGET OpenSSL::SSL)
    set(CAF_openssl_FOUND TRUE)
  endif()
endif()

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  if(_caf_version_line MATCHES "CAF_VERSION ([0-9]+)")
    math(EXPR _caf_major "${CMAKE_MATCH_1} / 10000")
    math(EXPR _caf_minor "(${CMAKE_MATCH_1} / 100) % 100")
    math(EXPR _caf_patch "${CMAKE_MATCH_1} % 100")
    set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_INCLUDE_DIR
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)

if(CAF_FOUND)
  find_package(Threads REQUIRED)
  if(NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  if(CAF_openssl_FOUND AND NOT TARGET CAF::openssl)
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES
      IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
      INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL")
  endif()
endif()
mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_OPENSSL_LIBRARY)
