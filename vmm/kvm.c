// SPDX-License-Identifier: MIT
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int kvm_open_error(const char *path, struct err *e)
{
	switch (errno) {
	case ENOENT:
		return err_set(e, "%s does not exist: KVM is not available on this host "
			       "(load kvm_intel or kvm_amd, or enable virtualization in the firmware)",
			       path);
	case EACCES:
	case EPERM:
		return err_set(e, "%s: permission denied (run as root or add the user to the group owning %s)",
			       path, path);
	case ENODEV:
	case ENXIO:
		return err_set(e, "%s: no KVM driver behind this device node", path);
	default:
		return err_errno(e, "%s", path);
	}
}

static int kvm_get_cpuid(struct kvm *kvm, struct err *e)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return err_set(e, "out of memory for CPUID entries");
		c->nent = n;
		if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return err_errno(e, "KVM_GET_SUPPORTED_CPUID");
	}
	return err_set(e, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int kvm_open(struct kvm *kvm, const char *path, struct err *e)
{
	int version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0)
		return kvm_open_error(path, e);
	version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		err_set(e, "%s: KVM API version %d, this VMM needs %d", path,
			version, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			err_set(e, "%s: the host's KVM lacks %s, which this VMM needs",
				path, kvm_required_caps[i].name);
			goto fail;
		}
	}
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		err_errno(e, "%s: KVM_GET_VCPU_MMAP_SIZE", path);
		goto fail;
	}
	kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = 4; /* what the KVM API documents when neither cap exists */
	if (kvm_get_cpuid(kvm, e) < 0)
		goto fail;
	return 0;
fail:
	kvm_close(kvm);
	return -1;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd > 0)
		close(kvm->fd);
	free(kvm->cpuid);
	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = -1;
}
