# SPDX-License-Identifier: MIT
# make install / make uninstall: the programs, the guest agent, the man
# pages, the documentation and the systemd unit, under PREFIX (default
# /usr/local), staged under DESTDIR when given. Nothing else is touched:
# no user, no /etc file (docs/service.md).
#
#   make install [PREFIX=/usr] [DESTDIR=/tmp/stage]
#   make uninstall [PREFIX=/usr] [DESTDIR=/tmp/stage]

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/vmm
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

# Every file install writes, relative to DESTDIR: uninstall removes these
# and nothing else.
DOC_FILES       := $(wildcard docs/*.md)
INSTALLED_FILES := $(BINDIR)/vmm $(BINDIR)/vmmctl \
		   $(LIBEXECDIR)/vmm/guest-agent \
		   $(MANDIR)/man1/vmm.1 $(MANDIR)/man1/vmmctl.1 \
		   $(MANDIR)/man8/guest-agent.8 \
		   $(DOCDIR)/README.md $(DOC_FILES:%=$(DOCDIR)/%) \
		   $(UNITDIR)/vmm@.service

.PHONY: install uninstall
# The unit names the installed paths, so it is written at install time.
install: $(BUILD)/vmm $(BUILD)/vmmctl $(BUILD)/guest-agent
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/vmm \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BUILD)/vmm $(BUILD)/vmmctl $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(BUILD)/guest-agent $(DESTDIR)$(LIBEXECDIR)/vmm
	$(INSTALL) -m 0644 dist/man/vmm.1 dist/man/vmmctl.1 \
		$(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0644 dist/man/guest-agent.8 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/docs
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		dist/vmm@.service.in > $(DESTDIR)$(UNITDIR)/vmm@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vmm@.service

# The directories of this package go when empty; shared ones stay.
uninstall:
	rm -f $(INSTALLED_FILES:%=$(DESTDIR)%)
	-rmdir $(DESTDIR)$(LIBEXECDIR)/vmm $(DESTDIR)$(DOCDIR)/docs \
		$(DESTDIR)$(DOCDIR) 2>/dev/null
