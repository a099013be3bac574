# `cmake --install build/release [--prefix P]` (default prefix /usr/local; `--prefix ~/.local`
# for a user) installs:
#   P/bin/invsweep                      the program
#   P/share/invsweep/slurm/             invsweep.sbatch, submit, local-cluster
#   <site directory for P>/invsweep/    the Python package, for INVSWEEP_PYTHON (Debian's
#                                       /usr/bin/python3): cmake/python_site_dir.py picks it
# so that `invsweep ...` and `python3 -m invsweep ...` work from any folder.
if(EXISTS /usr/bin/python3)
  set(_python_default /usr/bin/python3)
else()
  set(_python_default "${Python3_EXECUTABLE}")
endif()
set(INVSWEEP_PYTHON "${_python_default}" CACHE FILEPATH "Python interpreter the package is installed for")

install(TARGETS invsweep RUNTIME DESTINATION bin)
install(PROGRAMS slurm/invsweep.sbatch slurm/submit slurm/local-cluster DESTINATION share/invsweep/slurm)

# The site directory depends on the prefix given to `cmake --install`, so it is computed then.
install(CODE "
  execute_process(
    COMMAND \"${INVSWEEP_PYTHON}\" \"${PROJECT_SOURCE_DIR}/cmake/python_site_dir.py\" \"\${CMAKE_INSTALL_PREFIX}\"
    OUTPUT_VARIABLE _out RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR \"cannot find the Python site directory for \${CMAKE_INSTALL_PREFIX} with ${INVSWEEP_PYTHON}\")
  endif()
  string(REPLACE \"\\n\" \";\" _out \"\${_out}\")
  list(GET _out 0 _site)
  list(GET _out 1 _searched)
  # A copy left by an earlier installation could keep modules that no longer exist.
  file(REMOVE_RECURSE \"\$ENV{DESTDIR}\${_site}/invsweep\")
  file(INSTALL DESTINATION \"\${_site}\" TYPE DIRECTORY  # file(INSTALL) adds DESTDIR itself
       FILES \"${PROJECT_SOURCE_DIR}/analysis/invsweep\"
       PATTERN __pycache__ EXCLUDE PATTERN *.pyc EXCLUDE)
  if(_searched STREQUAL \"off-path\")
    message(STATUS \"Python package installed to \${_site}: add it to PYTHONPATH (${INVSWEEP_PYTHON} does not search it)\")
  endif()
")
