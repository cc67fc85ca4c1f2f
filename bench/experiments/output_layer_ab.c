#include "aerec_kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static float* buf(size_t n, float sc){float*p=aligned_alloc(64,((n*4+63)/64)*64);for(size_t i=0;i<n;i++)p[i]=sc*((float)((i*7919)%1000)/1000.f-0.5f);return p;}
int main(int argc,char**argv){
 int B=500,h=atoi(argv[1]),NI=40981,T=2, reps=atoi(argv[2]);
 float *a=buf((size_t)B*h,1),*W=buf((size_t)h*NI,0.1f),*m=buf((size_t)h*NI,0),*v=buf((size_t)h*NI,0),*Z=buf((size_t)B*NI,0),*da=buf((size_t)B*h,0),*bias=buf(NI,0.01f),*bg=buf(NI,0);
 memset(m,0,4ul*h*NI);memset(v,0,4ul*h*NI);memset(Z,0,4ul*B*NI);
 int64_t *ip=malloc(8*(B+1)); int32_t *ind=malloc(4*B*30); ip[0]=0;
 for(int r=0;r<B;r++){for(int k=0;k<30;k++) ind[r*30+k]=(r*7+k*1361)%NI; ip[r+1]=ip[r]+30;}
 for(int r=0;r<B;r++){ /* sort */ for(int i=0;i<30;i++)for(int j=i+1;j<30;j++) if(ind[r*30+j]<ind[r*30+i]){int t=ind[r*30+i];ind[r*30+i]=ind[r*30+j];ind[r*30+j]=t;}}
 aek_csr x={B,NI,ip,ind,NULL};
 int64_t sf=aek_softmax_output_scratch_floats(B,NI,h,T); float*scr=buf(sf,0);
 int64_t of=614400; float*ob=buf(of,0);
 aek_adam cfg={0}; cfg.lr=1e-3f; cfg.beta1=0.9f; cfg.beta2=0.999f; cfg.eps=1e-8f; cfg.weight_decay=0; cfg.decoupled=0;
 aek_activation id=aek_activation_default(AEK_ACT_IDENTITY);
 double bo=1e9,bn=1e9,so=0,sn=0;
 for(int rep=0;rep<reps;rep++){
  cfg.step=rep+1; double loss=0, t=now();
  /* old fused path */
  aek_sgemm_mt(0,0,B,NI,h,1,a,h,W,NI,1,Z,NI,T);
  aek_multinomial_nll_bias(x,Z,NI,bias,1.0f/B,1,&loss,T);
  aek_activation_backward(B,NI,id,Z,NI,NULL,0,Z,NI,bg,T);
  aek_sgemm_mt(0,1,B,h,NI,1,Z,NI,W,NI,0,da,h,T);
  aek_outer_product_adam(h,NI,B,a,h,Z,NI,W,m,v,NI,ob,of,cfg,1,T);
  t=now()-t; if(t<bo)bo=t; so+=t;
  t=now(); loss=0;
  aek_softmax_output_train(x,h,a,h,W,m,v,NI,bias,Z,NI,da,h,bg,1.0f/B,cfg,scr,sf,&loss,T);
  t=now()-t; if(t<bn)bn=t; sn+=t;
  memset(Z,0,4ul*B*NI); /* old path expects zeroed logits */
 }
 double fl=6.0*B*h*NI;
 printf("h=%d old: best %.1f ms mean %.1f (%.0f GFLOP/s best) | new: best %.1f ms mean %.1f (%.0f GFLOP/s)\n",h,bo*1e3,so/reps*1e3,fl/bo/1e9,bn*1e3,sn/reps*1e3,fl/bn/1e9);
 float *A2=buf(2048ul*2048,1),*B2=buf(2048ul*2048,1),*C2=buf(2048ul*2048,0); double bs=1e9;
 for(int i=0;i<4;i++){double t=now(); aek_sgemm_mt(0,0,2048,2048,2048,1,A2,2048,B2,2048,0,C2,2048,T); t=now()-t; if(t<bs)bs=t;}
 printf("sgemm 2048^3 2 threads (own): %.0f GFLOP/s\n", 2.0*2048*2048*2048/bs/1e9);
}
