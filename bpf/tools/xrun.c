// live-frames XDP test runner: xrun PIN DATAFILE IFINDEX REPEAT LIVE
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	char buf[9000];
	int fd = bpf_obj_get(argv[1]);
	FILE *f = fopen(argv[2], "rb");
	size_t n = fread(buf, 1, sizeof(buf), f);
	struct xdp_md ctx = { .data = 0, .data_end = n, .ingress_ifindex = atoi(argv[3]) };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = n,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = atoi(argv[4]),
		    .flags = atoi(argv[5]) ? BPF_F_TEST_XDP_LIVE_FRAMES : 0);
	int err = bpf_prog_test_run_opts(fd, &o);
	printf("err=%d retval=%u duration=%u\n", err, o.retval, o.duration);
	return err != 0;
}
