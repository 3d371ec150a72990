// SPDX-License-Identifier: MIT
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/arch.h"

static const struct kvm_cap_need kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
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

static int kvm_check_caps(struct kvm *kvm, const char *path,
			  const struct kvm_cap_need *caps, size_t nr,
			  struct err *e)
{
	for (size_t i = 0; i < nr; i++)
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0)
			return err_set(e, "%s: the host's KVM lacks %s, which this VMM needs",
				       path, caps[i].name);
	return 0;
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
	if (kvm_check_caps(kvm, path, kvm_required_caps,
			   ARRAY_SIZE(kvm_required_caps), e) < 0 ||
	    kvm_check_caps(kvm, path, arch_kvm_caps, arch_nr_kvm_caps, e) < 0)
		goto fail;
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
	return 0;
fail:
	kvm_close(kvm);
	return -1;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd > 0)
		close(kvm->fd);
	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = -1;
}
