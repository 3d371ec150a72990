// SPDX-License-Identifier: MIT
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devices/pci/pci.h"
#include "fd_budget.h"
#include "vcpu.h"

static struct vm *host_to_vm(struct device_host *host)
{
	return host->opaque;
}

/*
 * Lines may be shared (COM1 and COM3 both use IRQ 4 on a PC): the pin is
 * high while any device on it asserts. Devices call this only on a change.
 */
static void vm_irq_set(struct irq_line *line, int level)
{
	struct vm *vm = line->opaque;
	struct kvm_irq_level irq = { .irq = arch_irq_line_number(line->gsi) };
	unsigned int *count = &vm->irq_asserted[line->gsi];

	pthread_mutex_lock(&vm->irq_lock);
	if (level)
		(*count)++;
	else if (*count)
		(*count)--;
	irq.level = *count > 0;
	if ((level && *count == 1) || (!level && *count == 0))
		if (ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0)
			log_warn("KVM_IRQ_LINE gsi %u: %s", line->gsi,
				 strerror(errno));
	pthread_mutex_unlock(&vm->irq_lock);
}

static void vm_irq_pulse(struct irq_line *line)
{
	uint64_t one = 1;

	/* The irqfd injects an edge from any thread without a vCPU exit. */
	if (write(line->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("irqfd gsi %u: %s", line->gsi, strerror(errno));
}

/* An MSI has no level: raising it sends the message once. */
static void vm_msi_set(struct irq_line *line, int level)
{
	if (level)
		vm_irq_pulse(line);
}

static const struct irq_line_ops vm_irq_ops = {
	.set = vm_irq_set,
	.pulse = vm_irq_pulse,
};

static int vm_host_irq_line(struct device_host *host, uint32_t gsi,
			    struct irq_line *line, struct err *e)
{
	struct vm *vm = host_to_vm(host);
	struct kvm_irqfd irqfd = { .gsi = gsi };

	if (gsi >= LAYOUT_NR_GSI)
		return err_set(e, "interrupt %u is beyond the guest's %d lines",
			       gsi, LAYOUT_NR_GSI);
	line->ops = &vm_irq_ops;
	line->gsi = gsi;
	line->opaque = vm;
	line->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (line->fd < 0)
		return err_errno(e, "eventfd for interrupt %u", gsi);
	irqfd.fd = (uint32_t)line->fd;
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0) {
		err_errno(e, "KVM_IRQFD for interrupt %u", gsi);
		close(line->fd);
		line->fd = -1;
		return -1;
	}
	return 0;
}

static const struct irq_line_ops vm_msi_ops = {
	.set = vm_msi_set,
	.pulse = vm_irq_pulse,
};

static int vm_host_msi_line(struct device_host *host, struct irq_line *line,
			    struct err *e)
{
	struct vm *vm = host_to_vm(host);
	struct kvm_irqfd irqfd = { 0 };
	uint32_t gsi;

	if (!vm->irq_routing_ready)
		return err_set(e, "this VM routes no message-signalled interrupts");
	if (irq_routing_alloc(&vm->irq_routing, &gsi, e) < 0)
		return -1;
	line->ops = &vm_msi_ops;
	line->gsi = gsi;
	line->opaque = vm;
	line->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (line->fd < 0) {
		err_errno(e, "eventfd for MSI route %u", gsi);
		goto fail;
	}
	/* Until the guest programs a message the GSI has no route: silent. */
	irqfd.fd = (uint32_t)line->fd;
	irqfd.gsi = gsi;
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0) {
		err_errno(e, "KVM_IRQFD for MSI route %u", gsi);
		close(line->fd);
		goto fail;
	}
	return 0;
fail:
	line->fd = -1;
	irq_routing_free(&vm->irq_routing, gsi);
	return -1;
}

static int vm_host_msi_route(struct device_host *host, struct irq_line *line,
			     uint64_t addr, uint32_t data, struct err *e)
{
	return irq_routing_set(&host_to_vm(host)->irq_routing, line->gsi, addr,
			       data, e);
}

static void vm_host_irq_line_free(struct device_host *host,
				  struct irq_line *line)
{
	struct vm *vm = host_to_vm(host);
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)line->fd,
		.gsi = line->gsi,
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (line->fd < 0)
		return;
	/* Deassigned first, so a reused GSI never hears this eventfd. */
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0)
		log_warn("KVM_IRQFD deassign for GSI %u: %s", line->gsi,
			 strerror(errno));
	if (line->gsi >= LAYOUT_NR_GSI)
		irq_routing_free(&vm->irq_routing, line->gsi);
	close(line->fd);
	line->fd = -1;
}

static int vm_host_rom_window(struct device_host *host, uint64_t gpa,
			      void *hva, uint64_t size, bool present,
			      struct err *e)
{
	struct vm *vm = host_to_vm(host);
	struct kvm_userspace_memory_region region = {
		.slot = VM_ROM_WINDOW_SLOT,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = gpa,
		.memory_size = present ? size : 0,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err_errno(e, "KVM_SET_USER_MEMORY_REGION for %llu bytes read-only at %#llx",
				 (unsigned long long)size,
				 (unsigned long long)gpa);
	return 0;
}

static int vm_host_ioeventfd(struct device_host *host, uint64_t addr,
			     uint32_t len, uint64_t datamatch, int fd,
			     bool assign)
{
	struct vm *vm = host_to_vm(host);
	struct kvm_ioeventfd ioev = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->fd, KVM_IOEVENTFD, &ioev);
}

/* The lines of the platform's own devices (LAYOUT_IRQ_RESERVED) stay free. */
static uint32_t vm_host_irq_alloc(struct device_host *host)
{
	struct vm *vm = host_to_vm(host);

	while (vm->next_gsi < LAYOUT_NR_GSI) {
		uint32_t gsi = vm->next_gsi++;

		if (gsi >= 64 || !(LAYOUT_IRQ_RESERVED & (1ULL << gsi)))
			return gsi;
	}
	return 0;
}

static void vm_host_power(struct device_host *host, enum device_power_event ev,
			  int status)
{
	struct vm *vm = host_to_vm(host);

	switch (ev) {
	case DEVICE_POWER_OFF:
		vm_request_exit(vm, VM_EXIT_POWEROFF, 0);
		break;
	case DEVICE_POWER_RESET:
		vm_request_exit(vm, VM_EXIT_RESET, 0);
		break;
	case DEVICE_POWER_EXIT_STATUS:
		vm_request_exit(vm, VM_EXIT_GUEST_STATUS, status);
		break;
	}
}

static uint64_t vm_host_now_ns(struct device_host *host)
{
	struct timespec ts;

	(void)host;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int vm_map_memory(struct vm *vm, int ram_fd, struct err *e)
{
	uint64_t size = vm->cfg->mem_mib * MiB;

	if (ram_fd >= 0 ?
		    guest_mem_init_file(&vm->mem, &arch_ram_map, size, ram_fd, e) :
		    guest_mem_init(&vm->mem, &arch_ram_map, size,
				   vm->cfg->hugepages, e))
		return -1;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return err_errno(e, "KVM_SET_USER_MEMORY_REGION for %llu MiB at %#llx",
					 (unsigned long long)(r->size / MiB),
					 (unsigned long long)r->gpa);
	}
	return 0;
}

/*
 * The memory slots go in before the irqchip: once the irqchip exists, every
 * slot change waits for an SRCU grace period, which costs milliseconds of
 * start-up on a busy or nested host.
 */
static int vm_create_kvm(struct vm *vm, int ram_fd, struct err *e)
{
	vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		if (ram_fd >= 0)
			close(ram_fd);
		return err_errno(e, "KVM_CREATE_VM");
	}
	if (vm_map_memory(vm, ram_fd, e) < 0)
		return -1;
	return arch_vm_create(vm, e);
}

static int vm_create_vcpus(struct vm *vm, struct err *e)
{
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_set(e, "out of memory for %u vCPUs", vm->nr_vcpus);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_create(vm, i, &vm->vcpus[i], e) < 0)
			return -1;
		metrics_add(vm->metrics, &vm->vcpus[i]->metrics);
	}
	return arch_vm_vcpus_created(vm, e);
}

int vm_create(struct vm *vm, struct vm_config *cfg, struct event_loop *loop,
	      struct metrics *metrics, int ram_fd, struct err *e)
{
	struct fd_budget fds;

	memset(vm, 0, sizeof(*vm));
	fd_budget_get(&fds);
	vm->fd = -1;
	vm->cfg = cfg;
	vm->nr_vcpus = cfg->nr_cpus;
	vm->next_gsi = LAYOUT_IRQ_VIRTIO_FIRST;
	vm->paused = true;
	pthread_mutex_init(&vm->state_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);
	pthread_cond_init(&vm->parked_cond, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	guest_mem_init_buffer(&vm->mem, NULL, NULL, 0);
	vm->loop = loop;
	vm->metrics = metrics;
	vm->host = (struct device_host){
		.mem = &vm->mem,
		.loop = loop,
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.ioeventfd = vm_host_ioeventfd,
		.rom_window = vm_host_rom_window,
		.irq_line = vm_host_irq_line,
		.msi_line = vm_host_msi_line,
		.msi_route = vm_host_msi_route,
		.irq_line_free = vm_host_irq_line_free,
		.irq_alloc = vm_host_irq_alloc,
		.power = vm_host_power,
		.max_conns = fds.guest_conns,
		.now_ns = vm_host_now_ns,
		.opaque = vm,
	};
	if (kvm_open(&vm->kvm, "/dev/kvm", e) < 0 ||
	    cfg->nr_cpus > (unsigned int)vm->kvm.max_vcpus) {
		if (ram_fd >= 0)
			close(ram_fd);
		if (vm->kvm.fd < 0)
			return -1;
		return err_set(e, "--cpus %u: this host's KVM allows at most %d vCPUs",
			       cfg->nr_cpus, vm->kvm.max_vcpus);
	}
	if (vm_create_kvm(vm, ram_fd, e) < 0 ||
	    vcpu_init_signals(e) < 0 || vm_create_vcpus(vm, e) < 0)
		return -1;
	return 0;
}

void vm_add_device(struct vm *vm, struct device *dev)
{
	dev->next = vm->devices;
	vm->devices = dev;
	if (dev->metrics)
		metrics_add(vm->metrics, dev->metrics);
}

void vm_remove_device(struct vm *vm, struct device *dev)
{
	for (struct device **p = &vm->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			dev->next = NULL;
			if (dev->metrics)
				metrics_remove(vm->metrics, dev->metrics);
			return;
		}
	}
}

int vm_reserve_mmio(struct vm *vm, struct boot_mmio_device *out,
		    struct err *e)
{
	uint32_t gsi;

	if (vm->nr_mmio_devs == LAYOUT_VIRTIO_MMIO_MAX)
		return err_set(e, "too many virtio devices (at most %d)",
			       LAYOUT_VIRTIO_MMIO_MAX);
	gsi = vm_host_irq_alloc(&vm->host);
	if (!gsi)
		return err_set(e, "no interrupt line left for another virtio device");
	*out = (struct boot_mmio_device){
		.base = LAYOUT_VIRTIO_MMIO +
			vm->nr_mmio_devs * LAYOUT_VIRTIO_MMIO_SIZE,
		.size = LAYOUT_VIRTIO_MMIO_SIZE,
		.gsi = gsi,
	};
	vm->mmio_devs[vm->nr_mmio_devs++] = *out;
	return 0;
}

void vm_boot_config(const struct vm *vm, const char *cmdline,
		    struct boot_config *boot)
{
	*boot = (struct boot_config){
		.kernel_path = vm->cfg->kernel,
		.initrd_path = vm->cfg->initrd,
		.cmdline = cmdline,
		.nr_cpus = vm->nr_vcpus,
		.nr_serial = vm->nr_serial_ports,
		.serial = vm->serial_ports,
		.nr_mmio = vm->nr_mmio_devs,
		.mmio = vm->mmio_devs,
	};
}

int vm_start(struct vm *vm, struct err *e)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(vm->vcpus[i], e) < 0) {
			vm_request_exit(vm, VM_EXIT_VCPU_ERROR, 0);
			return -1;
		}
	}
	return 0;
}

static void vm_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus && vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->state_lock);
	vm_kick_all(vm);
	/* Return only once no vCPU can make guest progress. */
	pthread_mutex_lock(&vm->state_lock);
	while (vm->nr_parked < vm->nr_running && vm->exit_reason == VM_EXIT_NONE)
		pthread_cond_wait(&vm->parked_cond, &vm->state_lock);
	pthread_mutex_unlock(&vm->state_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->state_lock);
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status)
{
	bool first = false;

	pthread_mutex_lock(&vm->state_lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		__atomic_store_n(&vm->exit_reason, reason, __ATOMIC_RELEASE);
		vm->exit_status = status;
		first = true;
	}
	pthread_cond_broadcast(&vm->state_cond);
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->state_lock);
	if (!first)
		return;
	vm_kick_all(vm);
	if (vm->on_exit)
		vm->on_exit(vm, vm->on_exit_opaque);
}

enum vm_exit_reason vm_wait_exit(struct vm *vm, int *status)
{
	enum vm_exit_reason reason;

	pthread_mutex_lock(&vm->state_lock);
	while (vm->exit_reason == VM_EXIT_NONE)
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	reason = vm->exit_reason;
	*status = vm->exit_status;
	pthread_mutex_unlock(&vm->state_lock);
	return reason;
}

void vm_stop(struct vm *vm)
{
	vm_kick_all(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus && vm->vcpus[i])
			vcpu_join(vm->vcpus[i]);
}

void vm_destroy(struct vm *vm)
{
	struct device *dev = vm->devices;

	vm_stop(vm);
	/* Newest first: later devices may depend on earlier ones. */
	while (dev) {
		struct device *next = dev->next;

		if (dev->metrics)
			metrics_remove(vm->metrics, dev->metrics);
		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		dev = next;
	}
	vm->devices = NULL;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus || !vm->vcpus[i])
			continue;
		metrics_remove(vm->metrics, &vm->vcpus[i]->metrics);
		vcpu_destroy(vm->vcpus[i]);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	arch_vm_destroy(vm);
	guest_mem_destroy(&vm->mem);
	if (vm->irq_routing_ready)
		irq_routing_destroy(&vm->irq_routing);
	vm->irq_routing_ready = false;
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	kvm_close(&vm->kvm);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_cond_destroy(&vm->parked_cond);
	pthread_cond_destroy(&vm->state_cond);
	pthread_mutex_destroy(&vm->state_lock);
	pthread_mutex_destroy(&vm->irq_lock);
}
