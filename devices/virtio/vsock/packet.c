// SPDX-License-Identifier: MIT
#include "packet.h"

#include "lib/util.h"

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = get_le64(raw + VSOCK_HDR_SRC_CID);
	h->dst_cid = get_le64(raw + VSOCK_HDR_DST_CID);
	h->src_port = get_le32(raw + VSOCK_HDR_SRC_PORT);
	h->dst_port = get_le32(raw + VSOCK_HDR_DST_PORT);
	h->len = get_le32(raw + VSOCK_HDR_LEN);
	h->type = get_le16(raw + VSOCK_HDR_TYPE);
	h->op = get_le16(raw + VSOCK_HDR_OP);
	h->flags = get_le32(raw + VSOCK_HDR_FLAGS);
	h->buf_alloc = get_le32(raw + VSOCK_HDR_BUF_ALLOC);
	h->fwd_cnt = get_le32(raw + VSOCK_HDR_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE])
{
	put_le64(raw + VSOCK_HDR_SRC_CID, h->src_cid);
	put_le64(raw + VSOCK_HDR_DST_CID, h->dst_cid);
	put_le32(raw + VSOCK_HDR_SRC_PORT, h->src_port);
	put_le32(raw + VSOCK_HDR_DST_PORT, h->dst_port);
	put_le32(raw + VSOCK_HDR_LEN, h->len);
	put_le16(raw + VSOCK_HDR_TYPE, h->type);
	put_le16(raw + VSOCK_HDR_OP, h->op);
	put_le32(raw + VSOCK_HDR_FLAGS, h->flags);
	put_le32(raw + VSOCK_HDR_BUF_ALLOC, h->buf_alloc);
	put_le32(raw + VSOCK_HDR_FWD_CNT, h->fwd_cnt);
}
