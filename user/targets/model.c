// SPDX-License-Identifier: Apache-2.0
/* Model fingerprints: artifact globs and the hashing worker (see model.h). */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <openssl/evp.h>

#include "sealtrace/targets/discover.h"
#include "sealtrace/targets/model.h"

const char *const st_default_model_globs[] = {
	"*.gguf", "*.onnx", "*.safetensors", "*.pt", "*.bin",
	ST_MODEL_BLOB_PREFIX "*",	/* Ollama's blob store: the GGUF ones only */
};
const size_t st_default_model_nglobs =
	sizeof(st_default_model_globs) / sizeof(st_default_model_globs[0]);

bool st_model_glob_match(const char *const *globs, size_t n, const char *path)
{
	const char *base = st_basename(path);
	size_t i;

	for (i = 0; i < n; i++)
		if (fnmatch(globs[i], base, 0) == 0)
			return true;
	return false;
}

bool st_model_content_ok(int fd, const char *path)
{
	char magic[4];

	if (strncmp(st_basename(path), ST_MODEL_BLOB_PREFIX, strlen(ST_MODEL_BLOB_PREFIX)))
		return true;
	return pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	       !memcmp(magic, "GGUF", sizeof(magic));
}

int st_sha256_fd(int fd, char hex[65], uint64_t *size)
{
	unsigned char buf[1 << 16], md[32];
	unsigned int mdlen = 0;
	uint64_t total = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int i, ret = 0;

	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	/* pread from 0: the fd may be a dup whose offset someone moved */
	while ((n = pread(fd, buf, sizeof(buf), (off_t)total)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0)
		ret = -errno;
	else if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
		ret = -EIO;
	EVP_MD_CTX_free(ctx);
	if (ret)
		return ret;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size = total;
	return 0;
}

/* ---- the worker ---- */

struct node {
	struct node *next;
	struct st_hash_job job;
	struct st_hash_result res;
};

struct st_model_hasher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct node *todo, *todo_tail;	/* FIFO */
	struct node *done, *done_tail;
	size_t pending;
	bool stopping;
	int done_fd;		/* eventfd: readable once a result waits */
};

static void push(struct node **head, struct node **tail, struct node *n)
{
	n->next = NULL;
	if (*tail)
		(*tail)->next = n;
	else
		*head = n;
	*tail = n;
}

static struct node *pop(struct node **head, struct node **tail)
{
	struct node *n = *head;

	if (!n)
		return NULL;
	*head = n->next;
	if (!*head)
		*tail = NULL;
	return n;
}

static void hash_one(struct node *n)
{
	int r;

	memset(&n->res, 0, sizeof(n->res));
	n->res.pid = n->job.pid;
	n->res.tag = n->job.tag;
	memcpy(n->res.path, n->job.path, sizeof(n->res.path));
	r = st_sha256_fd(n->job.fd, n->res.sha256, &n->res.size);
	n->res.error = r < 0 ? -r : 0;
	close(n->job.fd);
}

static void *worker(void *arg)
{
	struct st_model_hasher *h = arg;
	struct node *n;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->todo && !h->stopping)
			pthread_cond_wait(&h->cond, &h->lock);
		n = pop(&h->todo, &h->todo_tail);
		if (!n)
			break;	/* stopping and nothing left */
		pthread_mutex_unlock(&h->lock);
		hash_one(n);
		pthread_mutex_lock(&h->lock);
		push(&h->done, &h->done_tail, n);
		/* wake the agent's loop: records written meanwhile lack the model */
		(void)eventfd_write(h->done_fd, 1);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int st_model_hasher_start(struct st_model_hasher **out, char *err, size_t errlen)
{
	struct st_model_hasher *h;
	int e;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "model hasher: out of memory");
		return -1;
	}
	h->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->done_fd < 0) {
		snprintf(err, errlen, "model hasher: eventfd: %s", strerror(errno));
		free(h);
		return -1;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	e = pthread_create(&h->thread, NULL, worker, h);
	if (e) {
		snprintf(err, errlen, "model hasher: cannot start thread: %s", strerror(e));
		close(h->done_fd);
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

int st_model_hasher_submit(struct st_model_hasher *h, const struct st_hash_job *job)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n) {
		close(job->fd);
		return -ENOMEM;
	}
	n->job = *job;
	pthread_mutex_lock(&h->lock);
	push(&h->todo, &h->todo_tail, n);
	h->pending++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int st_model_hasher_fd(struct st_model_hasher *h)
{
	return h->done_fd;
}

int st_model_hasher_take(struct st_model_hasher *h, struct st_hash_result *out)
{
	eventfd_t ignored;
	struct node *n;

	/* reset first: a result pushed after this sets it again */
	(void)eventfd_read(h->done_fd, &ignored);
	pthread_mutex_lock(&h->lock);
	n = pop(&h->done, &h->done_tail);
	if (n)
		h->pending--;
	pthread_mutex_unlock(&h->lock);
	if (!n)
		return 0;
	*out = n->res;
	free(n);
	return 1;
}

size_t st_model_hasher_pending(struct st_model_hasher *h)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->pending;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static void free_list(struct node *n)
{
	struct node *next;

	for (; n; n = next) {
		next = n->next;
		free(n);
	}
}

void st_model_hasher_stop(struct st_model_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	free_list(h->done);
	close(h->done_fd);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
