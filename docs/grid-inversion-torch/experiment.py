# Provenance of h200-cosine-lr0.05.jsonl: paper 000's Fig. 9 experiment in PyTorch on the device machine's H200
# (torch 2.11), minified so that it fits the device tool's 2000-character command (sent gzip+base64). The readable
# version of the same algorithm is bench/gridInversion_torch.py --experiment (checked against ganvas for 5 Adam steps
# by test/gridInversion.test.ts). Run from the repository root:
#   python3 experiment.py cosine 10,30,100 mean,zeros,random 512 cuda     (schedule, steps, inits, images, device)
# Output per line: pair, steps, init, seconds, c: {g: [run 0 mean, run 1 mean, run 2 mean, std over all images]}.
# 'random' here uses the unbiased per-channel std (bench/gridInversion_torch.py and ganvas: the population std).
import sys,json,time,numpy as np,torch,torch.nn.functional as F
sys.path[:0]=['models/recipes','bench'];import zoo
A=sys.argv
from tileability_torch import grid_mask as gm,head as sh,tail as st,features as rf
d=torch.device(A[5]);L=lambda n:torch.load(f'models/{n}/weights.pt',map_location='cpu')
M=lambda n:json.load(open(f'models/{n}/ganvas.json'))['preprocess']
def pre(o,p):
 x=F.interpolate((o+1)/2,size=tuple(p['size']),mode='nearest');return (x-torch.tensor(p['mean'],device=d).view(1,-1,1,1))/torch.tensor(p['std'],device=d).view(1,-1,1,1)
def fm(N,g):
 w=L('fmnist-stylegan');G=zoo.StyleGen(**w['G_kwargs']).eval();G.load_state_dict(w['G_ema']);G.to(d)
 c=L('fmnist-resnet');R=zoo.ResNet(blocks=tuple(c['blocks']),mode=c['mode']).eval();R.load_state_dict(c['model']);R.to(d);p=M('fmnist-resnet')
 z=torch.randn(N,64,generator=g).to(d);nz={n:torch.randn(N,1,*[int(n.split('.')[0][1:])]*2,generator=g).to(d) for n in G.noise_names()}
 with torch.no_grad():W=G.map(z);a,i=sh(G,W,nz,'b8.conv1')
 return a,lambda x:rf(R,pre(st(G,W,nz,'b8.conv1',x,i),p),'layer1')
def ih(N,g):
 w=L('ihc-gan');G=zoo.DCGen(**w['G_kwargs']).eval();G.load_state_dict(w['G_ema']);G.to(d)
 c=L('ihc-features');R=zoo.FeatNet(**c['kwargs']).eval();R.load_state_dict(c['model']);R.to(d);p=M('ihc-features')
 z=torch.randn(N,64,generator=g).to(d)
 with torch.no_grad():a=G(z,return_layers=True)[1]['l16']
 def ch(x):
  for cv in G.ups[2:]:x=G.pn(zoo.lrelu(cv(zoo.up2(x))))
  return R.layer1(R.stem(pre(torch.tanh(G.rgb(x)),p)))
 return a,ch
def inv(a,ch,y,g,S,I,lr,sc,gen):
 n,c,h,w=a.shape;m=(torch.ones(h,w) if g==0 else gm(h,w,g)).to(d);mu=a.mean((2,3))
 if I=='mean':s1,s2=mu.clone(),mu.clone()
 elif I=='zeros':s1,s2=0*mu,0*mu
 else:sd=a.std((2,3));s1=mu+sd*torch.randn(n,c,generator=gen).to(d);s2=mu+sd*torch.randn(n,c,generator=gen).to(d)
 v1=s1.requires_grad_();v2=(s1.clone() if g==0 else s2).requires_grad_()
 o=torch.optim.Adam([v1] if g==0 else [v1,v2],lr=lr);q=torch.optim.lr_scheduler.LambdaLR(o,lambda t:.5*(1+np.cos(np.pi*t/S)) if sc=='cosine' else 1.)
 f=lambda:ch(v1[:,:,None,None]*m+(v1 if g==0 else v2)[:,:,None,None]*(1-m)).mean((2,3))
 for _ in range(S):o.zero_grad();(f()-y).abs().mean(1).sum().backward();o.step();q.step()
 with torch.no_grad():return F.cosine_similarity(f(),y,dim=1,eps=1e-8).cpu().numpy()
N,R_,lr,sc=int(A[4]),3,.05,A[1]
for P,mk in [('fmnist',fm),('ihc',ih)]:
 for S in map(int,A[2].split(',')):
  for I in A[3].split(','):
   t=time.time();cv={}
   for r in range(R_):
    gen=torch.Generator().manual_seed(1000*r+17);a,ch=mk(N,gen)
    with torch.no_grad():f=ch(a);n,c,fh,fw=f.shape;y=f[torch.arange(n,device=d),:,torch.randint(0,fh,(n,),generator=gen).to(d),torch.randint(0,fw,(n,),generator=gen).to(d)]
    for g in range(6):cv.setdefault(g,[]).append(inv(a,ch,y,g,S,I,lr,sc,gen))
   print(json.dumps({'pair':P,'steps':S,'init':I,'s':time.time()-t,'c':{g:[float(x.mean()) for x in v]+[float(np.concatenate(v).std())] for g,v in cv.items()}}),flush=True)
