/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify --witness-key: the head a witness cosigned for a stream, as the
 * shipper keeps it (<state_dir>/shipped/<stream>.cosigned), with the
 * witness's cosignature (cosignature/v1) checked against its verifier key
 * (vkey.h, type 0x04: the string or a file holding it). The log must hold
 * that head: a shorter or different log fails verify like any checkpoint
 * it cannot reproduce.
 */
#ifndef SEALTRACE_WITNESS_CLAIM_H
#define SEALTRACE_WITNESS_CLAIM_H

#include <stddef.h>

#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/record.h"

/* 0 with *out; 1 when there is no head cosigned by that witness (err);
 * 2 when the key is not a witness verifier key; -1 I/O. */
int st_witness_claim(const char *state_dir, enum st_stream s,
		     const char *vkey, struct st_ckpt *out, char *err,
		     size_t errlen);

#endif /* SEALTRACE_WITNESS_CLAIM_H */
