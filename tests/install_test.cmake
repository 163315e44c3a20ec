# Installs the fastnet build in BUILD_DIR into a scratch prefix, then
# configures, builds and runs the consumer project in CONSUMER_DIR against it
# with find_package(fastnet) — what an embedding user does.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(f include/fastnet/fastnet.hpp include/fastnet/tcp_server.hpp)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build"
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer build failed (${rc})")
endif()
foreach(exe consumer consumer_actors)
  execute_process(COMMAND "${WORK_DIR}/build/${exe}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 60)
  message(STATUS "${exe}: ${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "ok")
    message(FATAL_ERROR "${exe} run failed (${rc})")
  endif()
endforeach()
