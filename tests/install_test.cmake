# Installs the fastnet build in BUILD_DIR into a scratch prefix, then builds
# the consumer project in CONSUMER_DIR against it with find_package(fastnet),
# what an embedding user does, in each way of asking for it:
#   reactor   COMPONENTS reactor: fastnet::reactor alone; neither OpenSSL nor
#             CAF is looked up, and the program's link line names neither
#   all       COMPONENTS with every other component this build has (ws actors
#             in a full build): one program per component, each run
#   default   no COMPONENTS: every installed component (configure only)
#   missing   a component this build lacks, and an unknown one: find_package
#             fails and says which and why (configure only)
# COMPONENTS lists the components this build has: reactor, ws, actors.
cmake_minimum_required(VERSION 3.25)  # script mode: IN_LIST and today's policies
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()

# Each component's headers are installed with it, and only with it.
set(headers_reactor include/fastnet/fastnet.hpp include/fastnet/tcp_server.hpp)
set(headers_ws include/fastnet/ws.hpp include/fastnet/ws/server_protocol.hpp)
set(headers_actors include/fastnet/actors/server.hpp)
foreach(c reactor ws actors)
  foreach(f IN LISTS headers_${c})
    if(c IN_LIST COMPONENTS AND NOT EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "not installed: ${f}")
    elseif(NOT c IN_LIST COMPONENTS AND EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "installed without its component ${c}: ${f}")
    endif()
  endforeach()
endforeach()

# consume(NAME [BUILD] [FAIL regex] WANT components... EXPECT components...)
# configures (and builds) the consumer in WORK_DIR/NAME. With FAIL, the
# configure must fail with output matching the regex.
function(consume name)
  cmake_parse_arguments(arg "BUILD" "FAIL" "WANT;EXPECT" ${ARGN})
  set(dir "${WORK_DIR}/${name}")
  # Makefiles whatever the caller's generator: the link line is read below.
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${dir}" -G "Unix Makefiles"
                          -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                          "-DWANT=${arg_WANT}" "-DEXPECT=${arg_EXPECT}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(DEFINED arg_FAIL)
    if(rc EQUAL 0 OR NOT out MATCHES "${arg_FAIL}")
      message(FATAL_ERROR "${name}: find_package(fastnet COMPONENTS ${arg_WANT}) should fail "
                          "matching '${arg_FAIL}' (${rc}):\n${out}")
    endif()
    message(STATUS "${name}: COMPONENTS ${arg_WANT} fails as it should")
    return()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: consumer configure failed (${rc}):\n${out}")
  endif()
  if(NOT arg_BUILD)
    message(STATUS "${name}: find_package(fastnet ${arg_WANT}) gives ${arg_EXPECT}")
    return()
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build "${dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: consumer build failed (${rc})")
  endif()
  set(programs consumer)
  foreach(c ws actors)
    if(c IN_LIST arg_EXPECT)
      list(APPEND programs consumer_${c})
    endif()
  endforeach()
  foreach(exe IN LISTS programs)
    execute_process(COMMAND "${dir}/${exe}" RESULT_VARIABLE rc
                    OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 60)
    message(STATUS "${name}: ${exe}: ${out}")
    if(NOT rc EQUAL 0 OR NOT out MATCHES "ok")
      message(FATAL_ERROR "${name}: ${exe} run failed (${rc})")
    endif()
  endforeach()
endfunction()

# reactor: a plain TCP user links neither libcrypto nor CAF.
consume(reactor BUILD WANT reactor EXPECT reactor)
file(READ "${WORK_DIR}/reactor/CMakeFiles/consumer.dir/link.txt" link_line)
if(link_line MATCHES "lib(crypto|ssl|caf_[a-z]+)[.]|-l(crypto|ssl|caf_)")
  message(FATAL_ERROR "a reactor-only program links OpenSSL or CAF:\n${link_line}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -DEXE=${WORK_DIR}/reactor/consumer
                        -P "${CMAKE_CURRENT_LIST_DIR}/no_openssl.cmake" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a reactor-only program loads OpenSSL or CAF")
endif()

set(others ${COMPONENTS})
list(REMOVE_ITEM others reactor)
if(others)
  consume(all BUILD WANT ${others} EXPECT ${COMPONENTS})
endif()
consume(default EXPECT ${COMPONENTS})

foreach(c ws actors)
  if(NOT c IN_LIST COMPONENTS)
    consume(missing_${c} WANT ${c} FAIL "component '${c}' is not installed")
  endif()
endforeach()
consume(unknown WANT reactor bogus FAIL "unknown component 'bogus'")
