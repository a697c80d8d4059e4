/* A page-fault handler thread (userfaultfd) serves three pages the main
 * thread touches. Under Scribe userfaultfd is refused with ENOSYS, and the
 * program says so and ends, instead of the recording hanging. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/userfaultfd.h>
static int uffd; static char *region; static long ps;
void*handler(void*a){
  char*page=mmap(0,ps,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  for(int n=0;n<3;n++){
    struct pollfd p={uffd,POLLIN}; poll(&p,1,-1);
    struct uffd_msg m; if(read(uffd,&m,sizeof m)!=sizeof m) continue;
    memset(page,'A'+n,ps);
    struct uffdio_copy c={.dst=m.arg.pagefault.address&~(ps-1),.src=(long)page,.len=ps};
    ioctl(uffd,UFFDIO_COPY,&c);
  }
  return 0;
}
int main(){
  ps=sysconf(_SC_PAGESIZE);
  uffd=syscall(SYS_userfaultfd,O_CLOEXEC);
  if(uffd<0){printf("uffd unavailable: %s\n",strerror(errno));return 0;}
  struct uffdio_api api={.api=UFFD_API}; if(ioctl(uffd,UFFDIO_API,&api)){perror("api");return 1;}
  region=mmap(0,3*ps,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  struct uffdio_register reg={.range={(long)region,3*ps},.mode=UFFDIO_REGISTER_MODE_MISSING};
  if(ioctl(uffd,UFFDIO_REGISTER,&reg)){perror("reg");return 1;}
  pthread_t t; pthread_create(&t,0,handler,0);
  for(int i=0;i<3;i++) printf("page %d: %c\n",i,region[i*ps+5]);
  pthread_join(t,0); return 0;
}
