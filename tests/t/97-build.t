#!/bin/bash
# `make` on a machine without a library stops before the first compiler
# and prints the apt-get line that installs exactly the missing Debian
# packages; `make install` asks tools/deps.sh for the build's packages
# only, never the tests' (chromium, valgrind). A missing package is
# simulated: pkg-config reads a directory of .pc files that lacks it, and
# dpkg-query and id are stand-ins that say what is installed and who runs.
. "$(dirname "$0")/../lib.sh"

mk() { env -u MAKEFLAGS -u MAKELEVEL make -C "$QF_ROOT" "$@" 2>&1; }
pcdir() { # pcdir DIR PC-NAME...: DIR holds every .pc file but PC-NAME.pc
  local d=$1 dir f n skip; shift; skip=" $* "
  mkdir -p "$d"
  for dir in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
    for f in "$dir"/*.pc; do
      n=${f##*/}
      [ -e "$f" ] && [ ! -e "$d/$n" ] || continue
      case "$skip" in *" ${n%.pc} "*) continue ;; esac
      ln -s "$f" "$d/"
    done
  done
}
objs() { find "$T_DIR/b-$1" -name '*.o' 2>/dev/null | wc -l; }

# the control: with every library there, the check passes and says nothing
pcdir "$T_DIR/pc-all"
out=$(PKG_CONFIG_LIBDIR=$T_DIR/pc-all mk -s BUILD="$T_DIR/b-all" build-deps); st=$?
is "$st" 0 "every library present: make's package check passes"
is "$out" "" "and says nothing"

# jansson missing: the message names libjansson-dev and nothing else
pcdir "$T_DIR/pc-nojansson" jansson
out=$(PKG_CONFIG_LIBDIR=$T_DIR/pc-nojansson mk BUILD="$T_DIR/b-nojansson" all); st=$?
ok $([ "$st" -ne 0 ] && echo 0 || echo 1) "without jansson's .pc, make fails (exit $st)"
like "$out" "qingfeng: cannot build: missing Debian packages; install them with:" "it says that packages are missing"
like "$out" "^  (sudo )?apt-get install -y libjansson-dev$" \
  "and prints the apt-get line for exactly libjansson-dev"
unlike "$out" "fatal error|No such file|error:" "no compiler error: it stopped before compiling"
is "$(objs nojansson)" 0 "nothing was compiled"

# nothing found: every library's package, in the Makefile's order
pcdir "$T_DIR/pc-none" libpq libcurl libconfig jansson libcrypto libsystemd libmicrohttpd
all_devs="libpq-dev libcurl4-openssl-dev libconfig-dev libjansson-dev libssl-dev libsystemd-dev libmicrohttpd-dev"
out=$(PKG_CONFIG_LIBDIR=$T_DIR/pc-none mk BUILD="$T_DIR/b-none" all); st=$?
ok $([ "$st" -ne 0 ] && echo 0 || echo 1) "with no library at all, make fails"
like "$out" "^  (sudo )?apt-get install -y $all_devs$" "naming the -dev package of each of the seven"
is "$(objs none)" 0 "before compiling anything"

# no pkg-config at all: it is named too, with every library's package
out=$(mk PKG_CONFIG=/nonexistent/pkg-config BUILD="$T_DIR/b-nopc" all); st=$?
ok $([ "$st" -ne 0 ] && echo 0 || echo 1) "without pkg-config, make fails"
like "$out" "^  (sudo )?apt-get install -y pkg-config $all_devs$" "naming pkg-config and every library's package"

# what make prints, tools/deps.sh build installs
build_group=$(sed -n '/^BUILD=(/,/)/p' "$QF_ROOT/tools/deps.sh" | tr -d '()' | sed 's/^BUILD=//' | tr -s ' \n' ' ')
missing_from_deps=""
for p in pkg-config $all_devs; do
  case " $build_group " in *" $p "*) ;; *) missing_from_deps="$missing_from_deps $p" ;; esac
done
is "$missing_from_deps" "" "every package make may ask for is in tools/deps.sh's build group"

# tools/deps.sh by group, on a machine with nothing installed, as a user:
# stand-ins for dpkg-query (nothing installed) and id (uid 1000), so it
# prints its apt-get line instead of running apt-get
mkdir -p "$T_DIR/fakebin"
printf '#!/bin/sh\nexit 1\n' >"$T_DIR/fakebin/dpkg-query"
printf '#!/bin/sh\necho 1000\n' >"$T_DIR/fakebin/id"
chmod +x "$T_DIR/fakebin/dpkg-query" "$T_DIR/fakebin/id"
deps() { PATH=$T_DIR/fakebin:$PATH "$QF_ROOT/tools/deps.sh" "$@" 2>&1 | sed -n 's/.*apt-get install -y //p'; }
build=$(deps build)
like " $build " " libpq-dev .* libmicrohttpd-dev " "tools/deps.sh build asks for the libraries' packages"
unlike " $build " " (chromium|valgrind|fonts-noto-cjk|cppcheck|postgresql-15|systemd) " \
  "and for no package only the tests or the demo use"
is "$(deps)" "$build" "tools/deps.sh alone is tools/deps.sh build"
like " $(deps test) " " libpq-dev .*postgresql-15 .*cppcheck .*valgrind .*chromium fonts-noto-cjk " \
  "tools/deps.sh test asks for the build's, the demo's and the tests' packages"
unlike " $(deps demo) " " (chromium|valgrind) " "tools/deps.sh demo does not ask for the tests' packages"

# make install runs tools/deps.sh build, and no other group
inst=$(mk -n install DESTDIR="$T_DIR/root" PREFIX=/opt/qf | grep 'tools/deps.sh')
is "$inst" "tools/deps.sh build" "make install installs only the build's packages (tools/deps.sh build)"
like "$(mk -n check | grep 'tools/deps.sh')" "^tools/deps.sh test$" "make check installs the tests' packages (tools/deps.sh test)"

done_testing
