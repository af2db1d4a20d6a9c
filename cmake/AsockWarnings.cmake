# Warnings (STYLE.md habit 2) and sanitizers for asock's own targets.
set(ASOCK_WARNING_FLAGS
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wcast-qual -Wimplicit-fallthrough -Wundef -Wnull-dereference
    -Wconversion -Wsign-conversion)

if(ASOCK_SANITIZE)
  add_compile_options(-fsanitize=${ASOCK_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${ASOCK_SANITIZE})
endif()

function(asock_set_warnings target)
  target_compile_options(${target} PRIVATE ${ASOCK_WARNING_FLAGS})
  if(ASOCK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
